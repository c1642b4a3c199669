# fish completion for relive(1). Installed as share/fish/vendor_completions.d/relive.fish.

set -l subcommands watch check-ignore config burst
set -l levels trace debug info warning error critical

function __relive_no_subcommand
    set -l words (commandline -opc)
    test (count $words) -eq 1
end

complete -c relive -f
complete -c relive -n __relive_no_subcommand -a watch -d 'Print each batch of changes under a tree'
complete -c relive -n __relive_no_subcommand -a check-ignore -d 'Say which paths the ignore rules exclude'
complete -c relive -n __relive_no_subcommand -a config -d 'Check, show or follow configuration files'
complete -c relive -n __relive_no_subcommand -a burst -d 'Filter output: debug lines only when an error follows'

# relive [OPTIONS] -- COMMAND (no subcommand)
set -l run "not __fish_seen_subcommand_from $subcommands"
complete -c relive -n $run -s w -l watch -r -F -d 'Watch PATH (repeatable)'
complete -c relive -n $run -s e -l exts -x -d 'Only files with these extensions count'
complete -c relive -n $run -s i -l ignore -x -d 'Ignore paths matching GLOB'
complete -c relive -n $run -l no-default-ignore -d 'Do not apply the built-in ignore list'
complete -c relive -n $run -l no-vcs-ignore -d 'Do not read .gitignore files'
complete -c relive -n $run -l poll -d 'Poll every MS milliseconds instead of inotify'
complete -c relive -n $run -l build -x -d 'Run CMD before each (re)start'
complete -c relive -n $run -l on-busy-update -x -a 'queue restart do-nothing signal' -d 'What a change does during a build'
complete -c relive -n $run -l restart-on-exit -d 'Restart the command when it exits by itself'
complete -c relive -n $run -l stop-signal -x -a 'TERM INT HUP QUIT KILL USR1 USR2' -d 'Signal that asks the command to stop'
complete -c relive -n $run -l stop-timeout -x -d 'SIGKILL after TIME'
complete -c relive -n $run -l shell -d 'Run COMMAND through /bin/sh -c'
complete -c relive -n $run -l no-stdin -d 'Do not read stdin: the command inherits it, no rs'
complete -c relive -n $run -s q -l quiet -d 'No status lines'
complete -c relive -n $run -l clear -d 'Clear the screen before each start'
complete -c relive -n $run -l json-events -r -F -d 'Write events as JSON lines to FILE or -'
complete -c relive -n $run -l burst -d 'Filter the command output through burst logging'
complete -c relive -n $run -l burst-keep -x -d 'Most debug lines kept'
complete -c relive -n $run -l burst-max-age -x -d 'Drop kept lines older than this'
complete -c relive -n $run -l burst-pass-level -x -a "$levels" -d 'Write at once at or above'
complete -c relive -n $run -l burst-trigger-level -x -a "$levels" -d 'Flush kept lines at or above'
complete -c relive -n $run -l burst-level-regex -x -d 'A regex whose group 1 is the level'
complete -c relive -n $run -l socket -x -d 'Bind this socket once, hand it to every start'
complete -c relive -n $run -l graceful -d 'Start the new generation before stopping the old'
complete -c relive -n $run -l ready -x -a 'tcp: http:// delay:' -d 'How to tell the new generation is ready'
complete -c relive -n $run -l ready-timeout -x -d 'Give up on readiness after this long'
complete -c relive -n $run -l help -d 'Show help'
complete -c relive -n $run -l version -d 'Show the version'

# relive watch
complete -c relive -n '__fish_seen_subcommand_from watch' -s w -l watch -r -F -d 'Directory or file to watch'
complete -c relive -n '__fish_seen_subcommand_from watch' -s i -l ignore -x -d 'Also ignore paths matching GLOB'
complete -c relive -n '__fish_seen_subcommand_from watch' -l json -d 'One JSON object per changed path'
complete -c relive -n '__fish_seen_subcommand_from watch' -l poll -d 'Poll every MS milliseconds'
complete -c relive -n '__fish_seen_subcommand_from watch check-ignore' -l no-default-ignore -d 'Do not apply the built-in ignore list'
complete -c relive -n '__fish_seen_subcommand_from watch check-ignore' -l no-vcs-ignore -d 'Do not apply .gitignore files'
complete -c relive -n '__fish_seen_subcommand_from watch check-ignore' -l no-reloadignore -d 'Do not apply .reloadignore files'

# relive check-ignore
complete -c relive -n '__fish_seen_subcommand_from check-ignore' -F
complete -c relive -n '__fish_seen_subcommand_from check-ignore' -s v -l verbose -d 'Show the matching rule'
complete -c relive -n '__fish_seen_subcommand_from check-ignore' -s n -l non-matching -d 'With -v, also unmatched paths'
complete -c relive -n '__fish_seen_subcommand_from check-ignore' -l stdin -d 'Read paths from standard input'
complete -c relive -n '__fish_seen_subcommand_from check-ignore' -s z -d 'NUL-separated input and output'
complete -c relive -n '__fish_seen_subcommand_from check-ignore' -s C -x -a '(__fish_complete_directories)' -d 'Root directory'
complete -c relive -n '__fish_seen_subcommand_from check-ignore' -s i -l ignore -x -d 'Also ignore paths matching GLOB'

# relive config check|show|watch FILE...
complete -c relive -n '__fish_seen_subcommand_from config; and not __fish_seen_subcommand_from check show watch' -a 'check show watch'
complete -c relive -n '__fish_seen_subcommand_from check show watch' -F
complete -c relive -n '__fish_seen_subcommand_from check show watch' -l env -x -d 'Also read PREFIX_A__B=v variables'
complete -c relive -n '__fish_seen_subcommand_from check show watch' -l set -x -d 'Override KEY=VALUE'
complete -c relive -n '__fish_seen_subcommand_from check show watch' -l secret -x -d 'Hide keys matching GLOB'
complete -c relive -n '__fish_seen_subcommand_from check show' -l json -d 'As JSON'
complete -c relive -n '__fish_seen_subcommand_from check' -s q -l quiet -d 'Print only the verdict'
complete -c relive -n '__fish_seen_subcommand_from show' -l explain -d 'Name the source of each key'

# relive burst [-- COMMAND]
complete -c relive -n '__fish_seen_subcommand_from burst' -l keep -x -d 'Most debug messages kept'
complete -c relive -n '__fish_seen_subcommand_from burst' -l max-age -x -d 'Drop kept messages older than this'
complete -c relive -n '__fish_seen_subcommand_from burst' -l pass-level -x -a "$levels" -d 'Write at once at or above'
complete -c relive -n '__fish_seen_subcommand_from burst' -l trigger-level -x -a "$levels" -d 'Flush kept lines at or above'
complete -c relive -n '__fish_seen_subcommand_from burst' -l level-regex -x -d 'A regex whose group 1 is the level'
