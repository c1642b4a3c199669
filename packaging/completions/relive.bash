# bash completion for relive(1). Installed as share/bash-completion/completions/relive.

_relive() {
  local cur prev words cword
  _init_completion -n = 2>/dev/null || {
    cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}
    words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
  }

  # After `--` the rest is the supervised command: complete it as a command line.
  local i
  for ((i = 1; i < cword; i++)); do
    if [[ ${words[i]} == -- ]]; then
      if declare -F _command_offset >/dev/null; then _command_offset $((i + 1)); fi
      return
    fi
  done

  local levels="trace debug info warning error critical"
  case $prev in
    -w|--watch|-C) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --json-events) COMPREPLY=($(compgen -f -- "$cur") -); return ;;
    --on-busy-update) COMPREPLY=($(compgen -W "queue restart do-nothing signal" -- "$cur")); return ;;
    --stop-signal) COMPREPLY=($(compgen -W "TERM INT HUP QUIT KILL USR1 USR2" -- "$cur")); return ;;
    --pass-level|--trigger-level|--burst-pass-level|--burst-trigger-level)
      COMPREPLY=($(compgen -W "$levels" -- "$cur")); return ;;
    -e|--exts|-i|--ignore|--build|--stop-timeout|--socket|--ready|--ready-timeout|--keep|--max-age|\
    --level-regex|--burst-keep|--burst-max-age|--burst-level-regex|--env|--set|--secret)
      return ;;
  esac

  local sub=${words[1]}
  local opts
  case $sub in
    watch)
      opts="-w --watch -i --ignore --json --poll --no-default-ignore --no-vcs-ignore --no-reloadignore --help" ;;
    check-ignore)
      opts="-v --verbose -n --non-matching --stdin -z -C --no-default-ignore --no-vcs-ignore --no-reloadignore -i --ignore --help" ;;
    burst)
      opts="--keep --max-age --pass-level --trigger-level --level-regex --help --" ;;
    config)
      if ((cword == 2)); then
        COMPREPLY=($(compgen -W "check show watch --help" -- "$cur")); return
      fi
      opts="--env --set --secret --json -q --quiet --explain --help"
      if [[ $cur != -* ]]; then
        COMPREPLY=($(compgen -f -X '!*.@(json|yaml|yml|toml)' -- "$cur") $(compgen -d -- "$cur"))
        return
      fi ;;
    *)
      if ((cword == 1)) && [[ $cur != -* ]]; then
        COMPREPLY=($(compgen -W "watch check-ignore config burst --" -- "$cur")); return
      fi
      opts="-w --watch -e --exts -i --ignore --no-default-ignore --no-vcs-ignore --poll --build
            --on-busy-update --restart-on-exit --stop-signal --stop-timeout --shell --no-stdin -q --quiet --clear
            --json-events --burst --burst-keep --burst-max-age --burst-pass-level --burst-trigger-level
            --burst-level-regex --socket --graceful --ready --ready-timeout --help --version --" ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _relive relive
