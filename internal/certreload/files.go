package certreload

import (
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"syscall"
)

// maxPEMFile bounds the read of a certificate chain or key file: a chain
// is a few KiB, and a path the composition names may be anything.
const maxPEMFile = 1 << 20

// filesState is what tells a changed file: which file it is (a new one
// renamed over it is another), its modification time, its size and its
// status change time (changeTime: what a chmod, chown or a rewrite that
// puts the modification time back changes). The zero value is no file.
type filesState struct {
	cert, key os.FileInfo
}

// same reports whether s and o are the same files, unchanged.
func (s filesState) same(o filesState) bool {
	return sameFile(s.cert, o.cert) && sameFile(s.key, o.key)
}

func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == b
	}
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size() &&
		changeTime(a) == changeTime(b)
}

// statFiles looks at the pair's files.
func statFiles(certFile, keyFile string, role Role) (filesState, error) {
	c, err := statPEMFile(certFile, role.CertFlag, role)
	if err != nil {
		return filesState{}, err
	}
	k, err := statPEMFile(keyFile, role.KeyFlag, role)
	if err != nil {
		return filesState{}, err
	}
	return filesState{cert: c, key: k}, nil
}

// statPEMFile looks at the file flag names; a role's RegularOnly refuses
// anything but a regular file.
func statPEMFile(path, flag string, role Role) (os.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: check the path and that %s may read it", flag, err, role.reader())
	}
	if role.RegularOnly && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s is not a regular file: give the path of a PEM file", flag, path)
	}
	return fi, nil
}

// LoadPair reads a PEM certificate chain and its key, saying which flag's
// (or field's) file is at fault. The error never holds the files' bytes.
func LoadPair(certFile, keyFile string, role Role) (*tls.Certificate, error) {
	certPEM, err := readPEMFile(certFile, role.CertFlag, role)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readPEMFile(keyFile, role.KeyFlag, role)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s %s with %s %s: %w (the certificate chain and its own private key, both PEM)", role.CertFlag, certFile, role.KeyFlag, keyFile, err)
	}
	return &pair, nil
}

// readPEMFile reads the file flag names, at most maxPEMFile bytes; a
// role's RegularOnly refuses anything but a regular file, looked at once
// open, and opens it without blocking: the composition chooses such
// paths, and a FIFO's open would wait for a writer that never comes.
// Flags may name a pipe (process substitution), opened as usual.
func readPEMFile(path, flag string, role Role) ([]byte, error) {
	mode := os.O_RDONLY
	if role.RegularOnly {
		mode |= syscall.O_NONBLOCK
	}
	f, err := os.OpenFile(path, mode, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: check the path and that %s may read it", flag, err, role.reader())
	}
	defer f.Close()
	if role.RegularOnly {
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: %s is not a regular file: give the path of a PEM file", flag, path)
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: check the path and that %s may read it", flag, err, role.reader())
	}
	if len(b) > maxPEMFile {
		return nil, fmt.Errorf("%s: %s is over %d bytes: give a PEM certificate chain or key", flag, path, maxPEMFile)
	}
	return b, nil
}
