# fish completion for relive(1). Installed as share/fish/vendor_completions.d/relive.fish.

set -l subcommands watch check-ignore config burst module
set -l levels trace debug info warning error critical

function __relive_no_subcommand
    set -l words (commandline -opc)
    test (count $words) -eq 1
end

# True when the word after `relive` is none of ARGV: relive's own options apply
# (`relive -w config` watches a directory named config).
function __relive_main
    set -l words (commandline -opc)
    not contains -- "$words[2]" $argv
end

# True when the subcommand is ARGV[1] and, given more arguments, the next word is one of
# them: `relive config watch` is not `relive watch`.
function __relive_using
    set -l words (commandline -opc)
    test "$words[2]" = "$argv[1]"; or return
    test (count $argv) -eq 1; or contains -- "$words[3]" $argv[2..-1]
end

complete -c relive -f
complete -c relive -n __relive_no_subcommand -a watch -d 'Print each batch of changes under a tree'
complete -c relive -n __relive_no_subcommand -a check-ignore -d 'Say which paths the ignore rules exclude'
complete -c relive -n __relive_no_subcommand -a config -d 'Check, show or follow configuration files'
complete -c relive -n __relive_no_subcommand -a burst -d 'Filter output: debug lines only when an error follows'
complete -c relive -n __relive_no_subcommand -a module -d 'Check and describe live-code modules'
complete -c relive -s h -l help -d 'Show help'

# relive [OPTIONS] -- COMMAND (no subcommand)
set -l run "__relive_main $subcommands"
complete -c relive -n $run -s w -l watch -r -F -d 'Watch PATH (repeatable)'
complete -c relive -n $run -s e -l exts -x -d 'Only files with these extensions count'
complete -c relive -n $run -s i -l ignore -x -d 'Ignore paths matching GLOB'
complete -c relive -n $run -l no-default-ignore -d 'Do not apply the built-in ignore list'
complete -c relive -n $run -l no-vcs-ignore -d 'Do not read .gitignore files'
complete -c relive -n $run -l poll -d 'Poll every MS milliseconds instead of inotify'
complete -c relive -n $run -l follow-symlinks -d 'Also watch directories symlinks point to'
complete -c relive -n $run -l debounce -x -d 'Wait until no change came for TIME'
complete -c relive -n $run -l delay -x -d 'Wait until no change came for TIME'
complete -c relive -n $run -l build -x -d 'Run CMD before each (re)start'
complete -c relive -n $run -l on-busy-update -x -a 'queue restart do-nothing signal' -d 'What a change does during a build'
complete -c relive -n $run -l restart-on-exit -d 'Restart the command when it exits by itself'
complete -c relive -n $run -l exit-on-crash -d 'Exit with the command\'s status when it fails'
complete -c relive -n $run -l postpone -d 'Start nothing until the first change'
complete -c relive -n $run -l workdir -x -a '(__fish_complete_directories)' -d 'Run the command in DIR'
complete -c relive -n $run -s E -l env -x -d 'Set KEY=VALUE in the command\'s environment'
complete -c relive -n $run -l stop-signal -x -a 'TERM INT HUP QUIT KILL USR1 USR2' -d 'Signal that asks the command to stop'
complete -c relive -n $run -l stop-timeout -x -d 'SIGKILL after TIME'
complete -c relive -n $run -l stop-mode -x -a 'mixed group main' -d 'Who gets the stop signal'
complete -c relive -n $run -l shell -d 'Run COMMAND through /bin/sh -c'
complete -c relive -n $run -l no-stdin -d 'Do not read stdin: the command inherits it, no rs'
complete -c relive -n $run -s q -l quiet -d 'No status lines'
complete -c relive -n $run -l clear -d 'Clear the screen before each start'
complete -c relive -n $run -l json-events -r -F -d 'Write events as JSON lines to FILE or -'
complete -c relive -n $run -l notify -d 'Desktop notification when a build fails'
complete -c relive -n $run -l config -r -F -d 'Read options from FILE, not ./relive.toml'
complete -c relive -n $run -l no-config -d 'Do not read ./relive.toml'
complete -c relive -n $run -l burst -d 'Filter the command output through burst logging'
complete -c relive -n $run -l burst-keep -x -d 'Most debug lines kept'
complete -c relive -n $run -l burst-max-age -x -d 'Drop kept lines older than this'
complete -c relive -n $run -l burst-pass-level -x -a "$levels" -d 'Write at once at or above'
complete -c relive -n $run -l burst-trigger-level -x -a "$levels" -d 'Flush kept lines at or above'
complete -c relive -n $run -l burst-level-regex -x -d 'A regex whose group 1 is the level'
complete -c relive -n $run -l socket -x -d 'Bind this socket once, hand it to every start'
complete -c relive -n $run -l graceful -d 'Start the new generation before stopping the old'
complete -c relive -n $run -l ready -x -a 'notify tcp: http:// delay:' -d 'How to tell the new generation is ready'
complete -c relive -n $run -l ready-timeout -x -d 'Give up on readiness after this long'
complete -c relive -n $run -s V -l version -d 'Show the version'

# relive watch
complete -c relive -n '__relive_using watch' -s w -l watch -r -F -d 'Directory or file to watch'
complete -c relive -n '__relive_using watch' -s i -l ignore -x -d 'Also ignore paths matching GLOB'
complete -c relive -n '__relive_using watch' -l json -d 'One JSON object per changed path'
complete -c relive -n '__relive_using watch' -l poll -d 'Poll every MS milliseconds'
set -l trees '__relive_using watch; or __relive_using check-ignore'
complete -c relive -n $trees -l no-default-ignore -d 'Do not apply the built-in ignore list'
complete -c relive -n $trees -l no-vcs-ignore -d 'Do not apply .gitignore files'
complete -c relive -n $trees -l no-reloadignore -d 'Do not apply .reloadignore files'

# relive check-ignore
complete -c relive -n '__relive_using check-ignore' -F
complete -c relive -n '__relive_using check-ignore' -s v -l verbose -d 'Show the matching rule'
complete -c relive -n '__relive_using check-ignore' -s n -l non-matching -d 'With -v, also unmatched paths'
complete -c relive -n '__relive_using check-ignore' -l stdin -d 'Read paths from standard input'
complete -c relive -n '__relive_using check-ignore' -s z -d 'NUL-separated input and output'
complete -c relive -n '__relive_using check-ignore' -s C -x -a '(__fish_complete_directories)' -d 'Root directory'
complete -c relive -n '__relive_using check-ignore' -s i -l ignore -x -d 'Also ignore paths matching GLOB'

# relive config check|show|watch FILE...
complete -c relive -n '__relive_using config; and not __relive_using config check show watch' -a 'check show watch'
set -l config '__relive_using config check show watch'
complete -c relive -n $config -F
complete -c relive -n $config -l env -x -d 'Also read PREFIX_A__B=v variables'
complete -c relive -n $config -l set -x -d 'Override KEY=VALUE'
complete -c relive -n $config -l secret -x -d 'Hide keys matching GLOB'
complete -c relive -n $config -l etcd-document -d 'etcd://HOST:PORT/KEY names one document'
complete -c relive -n $config -l etcd-user -x -d 'etcd USER or USER:PASSWORD'
complete -c relive -n $config -l etcd-password -x -d 'etcd password'
complete -c relive -n $config -l etcd-cacert -r -F -d 'CA bundle for etcd over https'
complete -c relive -n $config -l etcd-cert -r -F -d 'Client certificate for etcd'
complete -c relive -n $config -l etcd-key -r -F -d 'Private key of the client certificate'
complete -c relive -n $config -l etcd-cache -r -F -d 'Cache file used while etcd is down'
complete -c relive -n $config -l http-long-poll -d 'Consul blocking queries for http(s)://'
complete -c relive -n $config -l http-interval -x -d 'Polling interval of http(s):// sources'
complete -c relive -n $config -l json -d 'As JSON'
complete -c relive -n '__relive_using config check' -s q -l quiet -d 'Print only the verdict'
complete -c relive -n '__relive_using config show' -l explain -d 'Name the source of each key'

# relive burst [-- COMMAND]
set -l burst '__relive_using burst'
complete -c relive -n $burst -l keep -x -d 'Most debug messages kept'
complete -c relive -n $burst -l max-age -x -d 'Drop kept messages older than this'
complete -c relive -n $burst -l max-bytes -x -d 'Most bytes of kept text per buffer'
complete -c relive -n $burst -l max-memory -x -d 'Most memory for all buffers'
complete -c relive -n $burst -l pass-level -x -a "$levels" -d 'Write at once at or above'
complete -c relive -n $burst -l trigger-level -x -a "$levels" -d 'Flush kept lines at or above'
complete -c relive -n $burst -l level-regex -x -d 'A regex whose group 1 is the level'
complete -c relive -n $burst -l no-trigger-regex -x -d 'Lines matching this regex never trigger'
complete -c relive -n $burst -l key-regex -x -d 'A regex whose group 1 is the line\'s key'
complete -c relive -n $burst -l key -x -d 'JSON or logfmt field that is the line\'s key'
complete -c relive -n $burst -l after-trigger -x -d 'Pass lines through for N lines or a time'
complete -c relive -n $burst -l flush-on-exit -x -a 'failure always never' -d 'Write what is kept at the end'
complete -c relive -n $burst -l listen -x -a 'unix: unix-stream: udp: tcp: systemd' -d 'Receive log lines here'
complete -c relive -n $burst -l output -r -F -d 'With --listen: append to this file'
complete -c relive -n $burst -l forward -x -a 'udp: unix: tcp:' -d 'With --listen: send lines here'
complete -c relive -n $burst -l max-record -x -d 'With --listen: longest record taken whole'
complete -c relive -n $burst -l max-connections -x -d 'With --listen: most stream senders'
complete -c relive -n $burst -l stats -x -d 'With --listen: print a stats line this often'

# relive module check|info FILE.so
complete -c relive -n '__relive_using module; and not __relive_using module check info' -a 'check info'
complete -c relive -n '__relive_using module check info' -a '(__fish_complete_suffix .so)'
complete -c relive -n '__relive_using module check' -l interface -x -d 'Require this interface name'
complete -c relive -n '__relive_using module check' -l strict -d 'Also reject modules that cannot be unloaded'
complete -c relive -n '__relive_using module check' -l timeout -x -d 'Preflight timeout in milliseconds'
