package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry/jointoken"
)

// CredentialFile, in the cache dir, holds the instance credential home
// issued at the last registration (0600 in a 0700 dir): the agent's proof
// of identity for every call after registration. The join token that got
// it stays in memory only.
const CredentialFile = "credential.json"

// savedCredential is the content of CredentialFile.
type savedCredential struct {
	Instance   string `json:"instance"`
	Credential string `json:"credential"`
}

// saveCredential keeps the credential of instance id in dir ("" keeps it
// in memory only).
func saveCredential(dir, id, cred string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keep the instance credential: %w", err)
	}
	b, err := json.Marshal(savedCredential{Instance: id, Credential: cred})
	if err != nil {
		return fmt.Errorf("keep the instance credential: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, CredentialFile), b, 0o600); err != nil {
		return fmt.Errorf("keep the instance credential: %w", err)
	}
	return nil
}

// dropCredential removes the kept credential once the instance is gone.
func dropCredential(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.Remove(filepath.Join(dir, CredentialFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the instance credential: %w", err)
	}
	return nil
}

// joinTokenPin checks --token: a join token ("ptj1.…") must parse, and
// gives the pin of home's CA it carries (zero for none, and for a bare
// bootstrap token).
func joinTokenPin(token string) (pki.Pin, error) {
	if !jointoken.IsJoinToken(token) {
		return pki.Pin{}, nil
	}
	tok, err := jointoken.Parse(token)
	if err != nil {
		return pki.Pin{}, fmt.Errorf("--token: %w: copy the whole string `portolan token create` printed", err)
	}
	return tok.Pin, nil
}
