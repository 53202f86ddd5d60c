package main

// Shell completion: `portolan completion bash|zsh|fish` prints a script to
// load in the shell. The bash and zsh scripts ask the binary itself for the
// words (urfave/cli's hidden --generate-bash-completion flag, on because
// newApp sets EnableBashCompletion), so they follow the commands and flags
// of the binary installed; fish gets the full tree from urfave/cli.

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// bashCompletion asks portolan for the words that may follow the ones
// typed so far.
const bashCompletion = `# bash completion for portolan: source <(portolan completion bash)
_portolan() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  local opts
  if [[ "$cur" == -* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
}
complete -o bashdefault -o default -F _portolan portolan
`

// zshCompletion is bashCompletion for zsh.
const zshCompletion = `#compdef portolan
# zsh completion for portolan: source <(portolan completion zsh)
_portolan() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _portolan portolan
`

// completionShells are the shells `portolan completion` knows.
var completionShells = []string{"bash", "zsh", "fish"}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		UsageText: "portolan completion bash|zsh|fish",
		Description: `Load it in the current shell or install it:

  bash:  source <(portolan completion bash)
  zsh:   source <(portolan completion zsh)
  fish:  portolan completion fish > ~/.config/fish/completions/portolan.fish`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("completion: want one shell: "+strings.Join(completionShells, ", "), 2)
			}
			return writeCompletion(c.App, c.Args().First(), c.App.Writer)
		},
	}
}

// writeCompletion writes the completion script of app for shell to w.
func writeCompletion(app *cli.App, shell string, w io.Writer) error {
	var script string
	switch shell {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		s, err := app.ToFishCompletion()
		if err != nil {
			return fmt.Errorf("completion fish: %w", err)
		}
		script = s
	default:
		return cli.Exit(fmt.Sprintf("completion: unknown shell %q: want %s", shell, strings.Join(completionShells, ", ")), 2)
	}
	if _, err := io.WriteString(w, script); err != nil {
		return fmt.Errorf("completion %s: %w", shell, err)
	}
	return nil
}
