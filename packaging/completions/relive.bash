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
    -w|--watch|-C|--workdir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --json-events) COMPREPLY=($(compgen -f -- "$cur") -); return ;;
    --config|--output|--etcd-cacert|--etcd-cert|--etcd-key|--etcd-cache)
      COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --on-busy-update) COMPREPLY=($(compgen -W "queue restart do-nothing signal" -- "$cur")); return ;;
    --stop-signal) COMPREPLY=($(compgen -W "TERM INT HUP QUIT KILL USR1 USR2" -- "$cur")); return ;;
    --stop-mode) COMPREPLY=($(compgen -W "mixed group main" -- "$cur")); return ;;
    --ready) COMPREPLY=($(compgen -W "notify tcp: http:// delay:" -- "$cur")); return ;;
    --flush-on-exit) COMPREPLY=($(compgen -W "failure always never" -- "$cur")); return ;;
    --listen) COMPREPLY=($(compgen -W "unix: unix-stream: udp: tcp: systemd" -- "$cur")); return ;;
    --forward) COMPREPLY=($(compgen -W "udp: unix: tcp:" -- "$cur")); return ;;
    --pass-level|--trigger-level|--burst-pass-level|--burst-trigger-level)
      COMPREPLY=($(compgen -W "$levels" -- "$cur")); return ;;
    -e|--exts|-i|--ignore|--build|--stop-timeout|--debounce|--delay|-E|--env|--socket|--ready-timeout|\
    --keep|--max-age|--max-bytes|--max-memory|--level-regex|--no-trigger-regex|--key-regex|--key|\
    --after-trigger|--max-record|--max-connections|--stats|\
    --burst-keep|--burst-max-age|--burst-level-regex|--set|--secret|\
    --etcd-user|--etcd-password|--http-interval|--interface|--timeout)
      return ;;
  esac

  local sub=  # only a finished word names the subcommand: `relive watch<TAB>` completes the name
  ((cword > 1)) && sub=${words[1]}
  local opts
  case $sub in
    watch)
      opts="-w --watch -i --ignore --json --poll --no-default-ignore --no-vcs-ignore --no-reloadignore -h --help" ;;
    check-ignore)
      opts="-v --verbose -n --non-matching --stdin -z -C --no-default-ignore --no-vcs-ignore --no-reloadignore -i --ignore
            -h --help" ;;
    burst)
      opts="--keep --max-age --max-bytes --max-memory --pass-level --trigger-level --level-regex --no-trigger-regex
            --key-regex --key --after-trigger --flush-on-exit --listen --output --forward --max-record
            --max-connections --stats -h --help --" ;;
    config)
      if ((cword == 2)); then
        COMPREPLY=($(compgen -W "check show watch -h --help" -- "$cur")); return
      fi
      opts="--env --set --secret --etcd-document --etcd-user --etcd-password --etcd-cacert --etcd-cert --etcd-key
            --etcd-cache --http-long-poll --http-interval --json -h --help"
      case ${words[2]} in
        check) opts+=" -q --quiet" ;;
        show) opts+=" --explain" ;;
      esac
      if [[ $cur != -* ]]; then
        COMPREPLY=($(compgen -f -X '!*.@(json|yaml|yml|toml)' -- "$cur") $(compgen -d -- "$cur"))
        return
      fi ;;
    module)
      if ((cword == 2)); then
        COMPREPLY=($(compgen -W "check info -h --help" -- "$cur")); return
      fi
      opts="-h --help"
      [[ ${words[2]} == check ]] && opts+=" --interface --strict --timeout"
      if [[ $cur != -* ]]; then
        COMPREPLY=($(compgen -f -X '!*.so' -- "$cur") $(compgen -d -- "$cur"))
        return
      fi ;;
    *)
      if ((cword == 1)) && [[ $cur != -* ]]; then
        COMPREPLY=($(compgen -W "watch check-ignore config burst module --" -- "$cur")); return
      fi
      opts="-w --watch -e --exts -i --ignore --no-default-ignore --no-vcs-ignore --poll --follow-symlinks
            --debounce --delay --build --on-busy-update --restart-on-exit --exit-on-crash --postpone --workdir
            -E --env --stop-signal --stop-timeout --stop-mode --shell --no-stdin
            --burst --burst-keep --burst-max-age --burst-pass-level --burst-trigger-level --burst-level-regex
            --socket --graceful --ready --ready-timeout -q --quiet --clear --json-events --notify
            --config --no-config -h --help -V --version --" ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _relive relive
