# orx completion for bash, sourced after the script of `orx autocomplete bash`
# (@oclif/plugin-autocomplete), which completes commands and flags. Resource addresses
# (--target, --replace, state show|rm|mv, render agent) come from `orx __complete`: the
# recorded state and the configuration of the workspace (-C DIR included).
_orx_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
  local -a typed=("${COMP_WORDS[@]:1:COMP_CWORD-1}")
  local -a w=()
  local i=1 want=""
  while ((i < COMP_CWORD)); do
    case "${COMP_WORDS[i]}" in
      -C | --chdir | -chdir) i=$((i + 2)) ;;
      -*) i=$((i + 1)) ;;
      *) w+=("${COMP_WORDS[i]}") && i=$((i + 1)) ;;
    esac
  done
  case "$prev" in --target | -target | --replace | -replace) want=1 ;; esac
  if [[ -z $want && $cur != -* && ${#w[@]} -ge 2 ]]; then
    case "${w[0]} ${w[1]}" in "state show" | "state rm" | "state mv" | "render agent") want=1 ;; esac
  fi
  local IFS=$'\n'
  if [[ -n $want ]]; then
    COMPREPLY=($(compgen -W "$(orx __complete addresses -- "${typed[@]}" 2>/dev/null)" -- "$cur"))
  elif declare -F _orx_autocomplete >/dev/null; then
    _orx_autocomplete "$@"
  else
    # the plugin's cache is not built (`orx autocomplete bash` was not run): ask orx
    COMPREPLY=($(orx __complete words -- "${typed[@]}" "$cur" 2>/dev/null))
  fi
}
complete -F _orx_complete orx
