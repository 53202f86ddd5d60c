package manifest

import "github.com/portolan/portolan/composition"

// A document may leave secrets out (an export without --include-secrets
// does): an application's credentials, a user's password, a proxy's secret
// token. For an entity base already has, found by names, Desired then keeps
// base's, as an update through 3scale's API keeps what it does not name;
// only a new entity gets fresh ones. So the result of documents applied
// once compares equal to home afterwards, and applying them again changes
// nothing.

// homeProxy returns base's proxy of the service with system_name.
func (b *builder) homeProxy(service string) (*composition.Proxy, bool) {
	if b.base == nil {
		return nil, false
	}
	s, ok := b.base.ServiceBySystemName(service)
	if !ok {
		return nil, false
	}
	return b.base.Proxies.Get(s.ID)
}

// homeAccount returns base's account with org_name.
func (b *builder) homeAccount(org string) (*composition.Account, bool) {
	if b.base == nil {
		return nil, false
	}
	return b.base.Accounts.Find(func(a *composition.Account) bool { return a.OrgName == org })
}

// homeUser returns base's user username of the account org.
func (b *builder) homeUser(org, username string) (*composition.User, bool) {
	a, ok := b.homeAccount(org)
	if !ok {
		return nil, false
	}
	return b.base.Users.Find(func(u *composition.User) bool { return u.AccountID == a.ID && u.Username == username })
}

// homeApplication returns base's nth application (from 0, in id order)
// named name of the account org on the service with system_name: names need
// not be unique, so the documents' nth of that name is home's nth.
func (b *builder) homeApplication(org, service, name string, nth int) (*composition.Application, bool) {
	a, ok := b.homeAccount(org)
	if !ok {
		return nil, false
	}
	s, ok := b.base.ServiceBySystemName(service)
	if !ok {
		return nil, false
	}
	apps := b.base.Applications.Filter(func(app *composition.Application) bool {
		return app.AccountID == a.ID && app.ServiceID == s.ID && app.Name == name
	})
	if nth >= len(apps) {
		return nil, false
	}
	return apps[nth], true
}

// keepPassword returns the password to store for a user: base's when the
// document gives none, or gives in plain text the one base holds hashed
// (a fresh hash would differ at every call).
func (b *builder) keepPassword(org string, u User) string {
	home, ok := b.homeUser(org, u.Username)
	if !ok {
		return u.Password
	}
	if u.Password == "" {
		return home.Password
	}
	if !composition.IsPasswordHash(u.Password) && composition.IsPasswordHash(home.Password) {
		if same, err := composition.VerifyPassword(home.Password, u.Password); err == nil && same {
			return home.Password
		}
	}
	return u.Password
}
