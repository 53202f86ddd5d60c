package composition

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// A user's password is kept only as an argon2id hash in the PHC string
// format ($argon2id$v=19$m=...,t=...,p=...$salt$hash), so that neither the
// store, an export nor a backup holds it. Hashing is slow on purpose: the
// API and the importer hash before they take the store's writer lock.

// argon2id parameters: OWASP's minimum (19 MiB, 2 passes, 1 lane), which a
// Raspberry Pi computes in well under a second.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
	argonPrefix    = "$argon2id$"

	// A stored hash is verified only within these bounds, a few times
	// HashPassword's: a hash planted by an import or a document could
	// otherwise ask every verification for a gigabyte and 16 passes.
	maxArgonMemoryKiB = 64 * 1024
	maxArgonTime      = 8
	maxArgonThreads   = 4
)

// HashPassword returns the argon2id hash of password, with a fresh salt.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("%sv=%d$m=%d,t=%d,p=%d$%s$%s", argonPrefix, argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// IsPasswordHash reports whether s is a hash HashPassword made (as opposed
// to a plaintext password of an older export).
func IsPasswordHash(s string) bool { return strings.HasPrefix(s, argonPrefix) }

// VerifyPassword reports whether password matches hash, in constant time;
// a hash whose cost is past the bounds above is refused as malformed,
// unverified.
func VerifyPassword(hash, password string) (bool, error) {
	var (
		version          int
		memory, passes   uint32
		threads          uint8
		saltB64, keyB64  string
		errMalformedHash = errors.New("not an argon2id password hash")
	)
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errMalformedHash
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errMalformedHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &passes, &threads); err != nil ||
		memory == 0 || memory > maxArgonMemoryKiB || passes == 0 || passes > maxArgonTime ||
		threads == 0 || threads > maxArgonThreads {
		return false, errMalformedHash
	}
	saltB64, keyB64 = parts[4], parts[5]
	salt, err1 := base64.RawStdEncoding.DecodeString(saltB64)
	key, err2 := base64.RawStdEncoding.DecodeString(keyB64)
	if err1 != nil || err2 != nil || len(key) == 0 || len(key) > 64 {
		return false, errMalformedHash
	}
	got := argon2.IDKey([]byte(password), salt, passes, memory, threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// HashPasswords replaces every plaintext password of d's users with
// its hash: an import of an older export (or a hand-written document)
// stores no plaintext either. Each hash costs tens of milliseconds by
// design and a document may carry hundreds, so it gives up when ctx ends
// (the client gone, the server stopping), checked before each password;
// d is then partly hashed. A null entry of the list is no user: passed by.
// hash makes each hash (nil: HashPassword), so that a caller can bound how
// many are made at once.
func (d *Document) HashPasswords(ctx context.Context, hash func(ctx context.Context, password string) (string, error)) error {
	if hash == nil {
		hash = func(_ context.Context, password string) (string, error) { return HashPassword(password) }
	}
	for _, u := range d.Users {
		if u == nil || u.Password == "" || IsPasswordHash(u.Password) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("hashing the passwords of the document's users: %w", err)
		}
		h, err := hash(ctx, u.Password)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("hashing the passwords of the document's users: %w", ctx.Err())
			}
			return fmt.Errorf("user %q: %w", u.Username, err)
		}
		u.Password = h
	}
	return nil
}
