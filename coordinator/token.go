package coordinator

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile holds the access token a coordinator generated on first start.
const TokenFile = "access_token"

// resolveAccessToken returns the configured token, or the one kept in dir, or a
// new one written there; generated reports the last case, so it is shown once.
func resolveAccessToken(configured, dir string) (token string, generated bool, err error) {
	if configured != "" {
		return configured, false, nil
	}
	path := filepath.Join(dir, TokenFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", false, fmt.Errorf("access token file %s is empty", path)
		}
		return t, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, fmt.Errorf("read access token: %w", err)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", false, fmt.Errorf("generate access token: %w", err)
	}
	t := hex.EncodeToString(raw)
	// O_EXCL: two coordinators racing on one data dir never both win.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("write access token: %w", err)
	}
	if _, err := f.WriteString(t + "\n"); err != nil {
		f.Close()
		return "", false, fmt.Errorf("write access token: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", false, fmt.Errorf("write access token: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", false, fmt.Errorf("write access token: %w", err)
	}
	return t, true, nil
}
