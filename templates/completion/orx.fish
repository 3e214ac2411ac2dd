# orx completion for fish (@oclif/plugin-autocomplete has none): every candidate (commands,
# flags, resource addresses from the recorded state and the configuration) is asked of
# `orx __complete words`. Install: orx autocomplete script fish > ~/.config/fish/completions/orx.fish
function __orx_complete
    set -l typed (commandline -opc)
    set -e typed[1]
    orx __complete words -- $typed (commandline -ct) 2>/dev/null
end
complete -c orx -f -a '(__orx_complete)'
