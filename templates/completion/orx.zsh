# orx completion for zsh, sourced after the script of `orx autocomplete zsh`
# (@oclif/plugin-autocomplete, which completes commands and flags with its _orx function).
# Resource addresses (--target, --replace, state show|rm|mv, render agent) come from
# `orx __complete`: the recorded state and the configuration of the workspace.
_orx_complete() {
  local -a w typed
  local i=2 want=""
  typed=("${(@)words[2,CURRENT-1]}")
  while ((i < CURRENT)); do
    case "${words[i]}" in
      -C | --chdir | -chdir) ((i += 2)) ;;
      -*) ((i += 1)) ;;
      *) w+=("${words[i]}"); ((i += 1)) ;;
    esac
  done
  case "${words[CURRENT-1]}" in --target | -target | --replace | -replace) want=1 ;; esac
  if [[ -z $want && ${words[CURRENT]} != -* && ${#w} -ge 2 ]]; then
    case "${w[1]} ${w[2]}" in "state show" | "state rm" | "state mv" | "render agent") want=1 ;; esac
  fi
  if [[ -n $want ]]; then
    local -a addrs
    addrs=("${(@f)$(orx __complete addresses -- "${typed[@]}" 2>/dev/null)}")
    compadd -a addrs
  elif (( $+functions[_orx] )) || [[ -n ${(M)fpath:#*autocomplete/functions/zsh} ]]; then
    _orx "$@"
  else
    local -a cands
    cands=("${(@f)$(orx __complete words -- "${typed[@]}" "${words[CURRENT]}" 2>/dev/null)}")
    compadd -a cands
  fi
}
compdef _orx_complete orx
