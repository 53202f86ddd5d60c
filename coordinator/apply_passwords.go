package coordinator

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
)

// passwordHasher makes the argon2id hashes and checks of applies'
// passwords (composition.HashPassword, VerifyPassword), a bounded number at
// once across applies. Each takes 19 MiB for tens of milliseconds, and
// applies hash outside the store's writer (resolvePasswords): unbounded, N
// applies of many passwords held N×19 MiB at once, with an admin token but
// no limit. One hash uses one core (one lane), so more at once than cores
// would not be faster anyway; an apply waiting for a slot gives up with its
// request.
type passwordHasher struct {
	slots  chan struct{} // one per hash or check being made
	hashFn func(password string) (string, error)
	// verifyFn tells whether password is the one of hash.
	verifyFn func(hash, password string) (bool, error)
}

// maxHashesAtOnce caps the slots of a home with many cores: 76 MiB.
const maxHashesAtOnce = 4

func newPasswordHasher() *passwordHasher {
	return &passwordHasher{
		slots:  make(chan struct{}, min(runtime.GOMAXPROCS(0), maxHashesAtOnce)),
		hashFn: composition.HashPassword, verifyFn: composition.VerifyPassword,
	}
}

// acquire waits for a slot, giving up with ctx (the request's); the caller
// releases it with the function returned.
func (h *passwordHasher) acquire(ctx context.Context) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err // gone already: no slot taken from those still waiting
	}
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for other applies' passwords to be hashed first: %w", ctx.Err())
	}
}

// hash is the hash of password, made in a slot.
func (h *passwordHasher) hash(ctx context.Context, password string) (string, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return h.hashFn(password)
}

// verify tells whether password is the one of hash, checked in a slot.
func (h *passwordHasher) verify(ctx context.Context, hash, password string) (bool, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return h.verifyFn(hash, password)
}

// resolvePasswords gives each user of docs' accounts whose password is in
// plain text a hash instead, before the store's writer is taken: home's
// when home holds that password for that user (manifest.Desired would keep
// it, so a re-apply changes nothing), a new one otherwise. argon2id costs
// tens of milliseconds a password by design: under the writer, documents
// with many would hold every write of the composition back for as long (a
// dry run too, which `portolan diff` sends for a pull request). A user
// whose password home changes meanwhile gets the documents' one, as it
// would have under the writer. It gives up when ctx ends.
func (h *passwordHasher) resolvePasswords(ctx context.Context, docs []manifest.Document, home *composition.Composition) error {
	type userKey struct {
		account  int64
		username string
	}
	var accounts map[string]int64
	var users map[userKey]*composition.User
	for i := range docs {
		a := docs[i].Account
		if a == nil {
			continue
		}
		for j := range a.Users {
			u := &a.Users[j]
			if u.Password == "" || composition.IsPasswordHash(u.Password) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("hashing the documents' passwords: %w", err)
			}
			if accounts == nil { // indexed once, for documents that carry passwords only
				accounts, users = map[string]int64{}, map[userKey]*composition.User{}
				for _, acc := range home.Accounts.All() {
					accounts[acc.OrgName] = acc.ID
				}
				for _, hu := range home.Users.All() {
					users[userKey{hu.AccountID, hu.Username}] = hu
				}
			}
			if id, ok := accounts[a.OrgName]; ok {
				if hu := users[userKey{id, u.Username}]; hu != nil && composition.IsPasswordHash(hu.Password) {
					same, err := h.verify(ctx, hu.Password, u.Password)
					if ctx.Err() != nil {
						return fmt.Errorf("hashing the documents' passwords: %w", ctx.Err())
					}
					if err == nil && same {
						u.Password = hu.Password
						continue
					}
				}
			}
			hashed, err := h.hash(ctx, u.Password)
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("hashing the documents' passwords: %w", ctx.Err())
				}
				return fmt.Errorf("account %q user %q: %w", a.OrgName, u.Username, err)
			}
			u.Password = hashed
		}
	}
	return nil
}

// hashPasswords replaces the plaintext passwords of desired's users (a
// document's new password; one matching home's hash is home's hash
// already) with their hashes, so the store never holds plaintext. It runs
// under the writer lock, as the comparison with home's hashes does: only
// documents that carry passwords pay for it. It gives up when ctx ends.
func (h *passwordHasher) hashPasswords(ctx context.Context, desired *composition.Composition) (*composition.Composition, error) {
	plain := desired.Users.Filter(func(u *composition.User) bool {
		return u.Password != "" && !composition.IsPasswordHash(u.Password)
	})
	if len(plain) == 0 {
		return desired, nil
	}
	tx := composition.NewTx(desired, time.Now())
	for _, u := range plain {
		n := *u
		hashed, err := h.hash(ctx, u.Password)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("hashing the passwords: %w", ctx.Err())
			}
			return nil, err
		}
		n.Password = hashed
		if err := tx.Update(&n); err != nil {
			return nil, fmt.Errorf("user %q: %w", u.Username, err)
		}
	}
	return tx.Result(), nil
}

// hashDocument is composition.Document.HashPasswords in slots: every
// plaintext password of doc's users (an import of an older export, or a
// hand-written document) replaced with its hash. It gives up when ctx
// ends, doc then partly hashed.
func (h *passwordHasher) hashDocument(ctx context.Context, doc *composition.Document) error {
	return doc.HashPasswords(ctx, h.hash)
}
