package coordinator

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/threescale"
)

// TokenFile holds the access token a coordinator generated on first start.
const TokenFile = "access_token"

// bootstrapTokenBytes is the random part of a generated token: 256 bits, as
// the values the Access Tokens API makes.
const bootstrapTokenBytes = 32

// bootstrapToken is the coordinator's first admin access token (every
// scope, rw): configured, read from a file, or generated.
type bootstrapToken struct {
	value     string
	path      string // the file it came from or was written to; "" when given on the command line
	generated bool   // written to path on this start
}

// resolveAccessToken returns the bootstrap token: the configured one
// (--access-token), the content of file (--access-token-file, so that the
// secret need not appear in ps), the one kept in dir, or a new one written
// there with mode 0600.
func resolveAccessToken(configured, file, dir string) (bootstrapToken, error) {
	switch {
	case configured != "" && file != "":
		return bootstrapToken{}, errors.New("give the access token either inline (--access-token) or as a file (--access-token-file), not both")
	case configured != "":
		return bootstrapToken{value: configured}, nil
	case file != "":
		t, err := readTokenFile(file)
		if err != nil {
			return bootstrapToken{}, fmt.Errorf("--access-token-file: %w", err)
		}
		return bootstrapToken{value: t, path: file}, nil
	}
	path := filepath.Join(dir, TokenFile)
	t, err := readKeptToken(path)
	switch {
	case err == nil:
		return bootstrapToken{value: t, path: path}, nil
	case !errors.Is(err, fs.ErrNotExist):
		return bootstrapToken{}, err
	}
	raw := make([]byte, bootstrapTokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return bootstrapToken{}, fmt.Errorf("generate access token: %w", err)
	}
	t = hex.EncodeToString(raw)
	if err := writeTokenFile(path, t); err != nil {
		return bootstrapToken{}, err
	}
	return bootstrapToken{value: t, path: path, generated: true}, nil
}

// readTokenFile reads a token kept alone in a file, surrounding blanks
// trimmed.
func readTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return tokenIn(path, b, err)
}

// maxTokenFileBytes bounds the token file kept in the data dir: a
// generated token is 64 characters.
const maxTokenFileBytes = 4 << 10

// readKeptToken reads the token kept in the data dir as the other state
// files read at start: a regular file (a FIFO there is refused, not waited
// on), bounded.
func readKeptToken(path string) (string, error) {
	b, err := atomicfile.ReadBounded(path, maxTokenFileBytes)
	return tokenIn(path, b, err)
}

// tokenIn is the token read from path as b, or what went wrong.
func tokenIn(path string, b []byte, err error) (string, error) {
	if err != nil {
		return "", fmt.Errorf("read access token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("access token file %s is empty", path)
	}
	return t, nil
}

// writeTokenFile creates path (0600) holding t, failing when it exists:
// two coordinators racing on one data dir never both win. The file appears
// whole or not at all (atomicfile.WriteNew), so a crash while it is written
// leaves no empty file to refuse the next start on, and a full disk none.
func writeTokenFile(path, t string) error {
	err := atomicfile.WriteNew(path, []byte(t+"\n"), 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("write access token: %w", err)
	}
	if err != nil {
		return fmt.Errorf("write access token to %s (free space in the data dir, then start again): %w", path, err)
	}
	return nil
}

// newTokenChecker accepts the bootstrap token (every scope, rw) and the
// access tokens stored in the composition, within cfg's cap.
func newTokenChecker(cfg Config, store composition.Store, boot bootstrapToken) *threescale.TokenChecker {
	tc := threescale.NewStoreTokenChecker(store.Snapshot, boot.value)
	tc.MaxTokens = cfg.MaxAccessTokens
	return tc
}

// announceToken says where a generated token is, never the token itself:
// the log and the terminal may be kept or shared, the 0600 file is not.
func announceToken(cfg Config, boot bootstrapToken) {
	if !boot.generated {
		return
	}
	cfg.Logger.Info().Str("file", boot.path).Msg("generated an admin access token (every scope, rw); read it from the file")
	if cfg.Announce != nil {
		fmt.Fprintf(cfg.Announce, "Generated an admin access token: it is in %s (mode 0600).\n", boot.path)
	}
}

// minGuessResistantToken is the shortest configured token not warned
// about: 16 characters of a random alphabet are 80–128 bits, out of reach
// of guessing, which nothing here slows (tokens are compared in constant
// time, and a wrong one costs the guesser one request).
const minGuessResistantToken = 16

// weakTokens names the configured bootstrap tokens short enough to guess
// when the API is reachable from other hosts (addr is not loopback).
func weakTokens(cfg Config, addr net.Addr) []string {
	if isLoopback(addr) {
		return nil
	}
	var weak []string
	for _, t := range []struct{ flag, value string }{{"--access-token", cfg.AccessToken}, {"--agent-token", cfg.AgentToken}} {
		if t.value != "" && len(t.value) < minGuessResistantToken {
			weak = append(weak, t.flag)
		}
	}
	return weak
}
