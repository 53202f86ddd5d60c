package pki

import (
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/portolan/portolan/internal/atomicfile"
)

// File names inside a data directory.
const (
	CACertFile     = "ca.pem"          // the authority's certificate
	CAKeyFile      = "ca-key.pem"      // the authority's private key (0600)
	ServerCertFile = "server.pem"      // AutoCert's chain: server certificate, then the CA
	ServerKeyFile  = "server-key.pem"  // AutoCert's private key (0600)
	SigningKeyFile = "signing-key.pem" // the composition signing key (0600)
)

// Modes of what this package writes.
const (
	keyMode  fs.FileMode = 0o600
	certMode fs.FileMode = 0o600 // certificates too: nobody else needs them in the data dir
)

// maxPEMFile bounds what is read from a certificate or key file: a CA
// bundle is a few kilobytes, and a file of gigabytes is a mistake.
const maxPEMFile = 1 << 20

// makeDir creates dir (and its parents) with mode 0700, and makes an
// existing dir 0700 too: it keeps the CA's key, and one made beforehand (an
// image layer, a volume, mkdir -p) may be 0755. A directory that cannot be
// made 0700 is an error: no key is written where others may list it.
func makeDir(dir string) error {
	return atomicfile.PrivateDir(dir)
}

// readPEMFile reads a file of PEM blocks, bounded by maxPEMFile. It reads
// rather than trusting the size, so a pipe (--ca-file <(...)) works too.
func readPEMFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxPEMFile {
		return nil, fmt.Errorf("%s: more than the %d bytes a PEM file may have", path, maxPEMFile)
	}
	return b, nil
}

// writeAtomic replaces path with data and perm, atomically (internal/atomicfile).
func writeAtomic(path string, data []byte, perm fs.FileMode) error {
	return atomicfile.Write(path, data, perm)
}

// exists tells whether path exists; an error other than "does not exist"
// (permission denied, say) is returned naming the file.
func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, err
	}
}

// pemBlocks decodes every PEM block of data (text around the blocks, as
// openssl writes, is skipped). It fails when data holds no block.
func pemBlocks(data []byte) ([]*pem.Block, error) {
	var blocks []*pem.Block
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	if len(blocks) == 0 {
		return nil, errors.New("no PEM block found")
	}
	return blocks, nil
}
