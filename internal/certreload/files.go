package certreload

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// maxPEMFile bounds the read of a certificate chain or key file: a chain
// is a few KiB, and a path the composition names may be anything.
const maxPEMFile = 1 << 20

// filesState is what tells a changed file, for each file of a value:
// which file it is (a new one renamed over it is another), its
// modification time, its size and its status change time (changeTime:
// what a chmod, chown or a rewrite that puts the modification time back
// changes). nil is no files.
type filesState []os.FileInfo

// same reports whether s and o are the same files, unchanged.
func (s filesState) same(o filesState) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if !sameFile(s[i], o[i]) {
			return false
		}
	}
	return true
}

func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == b
	}
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size() &&
		changeTime(a) == changeTime(b)
}

// regular is whether every file is a regular one: what can be looked at
// for a change without reading it.
func (s filesState) regular() bool {
	for _, fi := range s {
		if !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// notRegular says which of files (named by flags) are not regular files,
// for a log: "--tls-key /dev/fd/63 is not a regular file".
func (s filesState) notRegular(files, flags []string) string {
	var names []string
	for i, fi := range s {
		if !fi.Mode().IsRegular() {
			names = append(names, flags[i]+" "+files[i])
		}
	}
	if len(names) == 1 {
		return names[0] + " is not a regular file"
	}
	return strings.Join(names, " and ") + " are not regular files"
}

// statFiles looks at files (named by flags in errors); regularOnly
// refuses anything but regular files.
func statFiles(files, flags []string, role Role, regularOnly bool) (filesState, error) {
	st := make(filesState, len(files))
	for i, path := range files {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: check the path and that %s may read it", flags[i], err, role.reader())
		}
		if regularOnly && !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: %s is not a regular file: give the path of a PEM file", flags[i], path)
		}
		st[i] = fi
	}
	return st, nil
}

// LoadPair reads a PEM certificate chain and its key, saying which flag's
// (or field's) file is at fault. The error never holds the files' bytes.
func LoadPair(certFile, keyFile string, role Role) (*tls.Certificate, error) {
	return loadPair(certFile, keyFile, role, role.RegularOnly)
}

// loadPair is LoadPair, refusing anything but regular files when
// regularOnly.
func loadPair(certFile, keyFile string, role Role, regularOnly bool) (*tls.Certificate, error) {
	certPEM, err := readPEMFile(certFile, role.CertFlag, role, regularOnly)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readPEMFile(keyFile, role.KeyFlag, role, regularOnly)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s %s with %s %s: %w (the certificate chain and its own private key, both PEM)", role.CertFlag, certFile, role.KeyFlag, keyFile, err)
	}
	return &pair, nil
}

// loadPool reads the PEM CA certificates of file into a pool; a file
// without one, or with one that does not parse, is an error naming it.
func loadPool(file string, role Role, regularOnly bool) (*x509.CertPool, error) {
	data, err := readPEMFile(file, role.CertFlag, role, regularOnly)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	n := 0
	for i := 1; ; i++ {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s %s: PEM block %d: %w (give PEM CA certificates)", role.CertFlag, file, i, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s %s: no CERTIFICATE block: give PEM CA certificates", role.CertFlag, file)
	}
	return pool, nil
}

// readPEMFile reads the file flag names, at most maxPEMFile bytes;
// regularOnly refuses anything but a regular file, looked at once open,
// and opens it without blocking: a FIFO's open would wait for a writer
// that never comes (the composition chooses a RegularOnly role's paths,
// and a FIFO may be renamed over a watched file after the look's stat). A
// flag may name a pipe (process substitution), opened as usual and read
// once, at start: the look that reads files again refuses one (statFiles)
// before it opens it.
func readPEMFile(path, flag string, role Role, regularOnly bool) ([]byte, error) {
	mode := os.O_RDONLY
	if role.RegularOnly || regularOnly {
		mode |= syscall.O_NONBLOCK
	}
	f, err := os.OpenFile(path, mode, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: check the path and that %s may read it", flag, err, role.reader())
	}
	defer f.Close()
	if regularOnly {
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
