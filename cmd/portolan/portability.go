package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

func homeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "home", Value: "http://127.0.0.1:7070", Usage: "URL of the coordinator"},
		&cli.StringFlag{Name: "token", Usage: "the coordinator's access token"},
		&cli.DurationFlag{Name: "timeout", Value: 60 * time.Second, Usage: "how long to wait for the coordinator"},
	}
}

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a coordinator's whole composition as JSON to standard output",
		UsageText: "portolan export --home URL --token T [--include-secrets] > composition.json",
		Description: `Exports services, backends, metrics, mapping rules, plans, limits, accounts,
applications, proxy settings, ActiveDocs and placements. Credentials (application
keys, user passwords, proxy secret tokens) are left out unless --include-secrets;
an import then generates new ones.`,
		Flags: append(homeFlags(), &cli.BoolFlag{Name: "include-secrets", Usage: "include credentials and secret tokens"}),
		Action: func(c *cli.Context) error {
			if err := required(c, "token"); err != nil {
				return err
			}
			q := url.Values{}
			if c.Bool("include-secrets") {
				q.Set("include_secrets", "true")
			}
			body, err := homeCall(c, http.MethodGet, "/admin/portolan/composition?"+q.Encode(), nil, http.StatusOK)
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			_, err = c.App.Writer.Write(body)
			return err
		},
	}
}

func importCommand() *cli.Command {
	return &cli.Command{
		Name:  "import",
		Usage: "import into a coordinator",
		Subcommands: []*cli.Command{{
			Name:      "composition",
			Usage:     "import a composition exported by `portolan export` (ids are remapped)",
			UsageText: "portolan import composition FILE|- --home URL --token T",
			Flags:     homeFlags(),
			Action: func(c *cli.Context) error {
				c, args, err := interspersed(c)
				if err != nil {
					return fmt.Errorf("import composition: %w", err)
				}
				if len(args) != 1 {
					return fmt.Errorf("import composition: want one FILE argument (- for standard input), got %d", len(args))
				}
				if err := required(c, "token"); err != nil {
					return err
				}
				var r io.Reader = os.Stdin
				if name := args[0]; name != "-" {
					f, err := os.Open(name)
					if err != nil {
						return fmt.Errorf("import composition: %w", err)
					}
					defer f.Close()
					r = f
				}
				doc, err := io.ReadAll(io.LimitReader(r, 64<<20+1))
				if err != nil {
					return fmt.Errorf("import composition: read: %w", err)
				}
				if !json.Valid(doc) {
					return fmt.Errorf("import composition: %s is not valid JSON", args[0])
				}
				body, err := homeCall(c, http.MethodPost, "/admin/portolan/composition", doc, http.StatusCreated)
				if err != nil {
					return fmt.Errorf("import composition: %w", err)
				}
				_, err = c.App.Writer.Write(body)
				return err
			},
		}, importOpenAPICommand()},
	}
}

// homeCall sends one request to the coordinator with the access token as Basic
// auth, and returns the body of an answer with status want.
func homeCall(c *cli.Context, method, path string, body []byte, want int) ([]byte, error) {
	ctx, cancel := contextWithTimeout(c)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.String("home"), "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth("", c.String("token"))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %s: %s", method, req.URL.Path, resp.Status, strings.TrimSpace(string(out)))
	}
	return out, nil
}
