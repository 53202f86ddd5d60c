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

// homeIndex is base's accounts, users and applications by the names
// documents give them, made once per Desired: Desired runs under the
// store's writer, and a scan of base per user and per application made
// applying n applications a second time cost n² (20,000 of them, under a
// MiB of YAML, held every other write for 9 s).
type homeIndex struct {
	accounts map[string]*composition.Account           // by org_name: the first, in id order
	users    map[homeUserKey]*composition.User         // the first, in id order
	apps     map[homeAppKey][]*composition.Application // in id order
}

type homeUserKey struct {
	account  int64
	username string
}

type homeAppKey struct {
	account, service int64
	name             string
}

// home returns base's index, made on first use; empty without base.
func (b *builder) home() *homeIndex {
	if b.homeIdx != nil {
		return b.homeIdx
	}
	x := &homeIndex{accounts: map[string]*composition.Account{}, users: map[homeUserKey]*composition.User{},
		apps: map[homeAppKey][]*composition.Application{}}
	if b.base != nil {
		for _, a := range b.base.Accounts.All() {
			if _, ok := x.accounts[a.OrgName]; !ok {
				x.accounts[a.OrgName] = a
			}
		}
		for _, u := range b.base.Users.All() {
			k := homeUserKey{u.AccountID, u.Username}
			if _, ok := x.users[k]; !ok {
				x.users[k] = u
			}
		}
		for _, app := range b.base.Applications.All() {
			k := homeAppKey{app.AccountID, app.ServiceID, app.Name}
			x.apps[k] = append(x.apps[k], app)
		}
	}
	b.homeIdx = x
	return x
}

// homeUser returns base's user username of the account org.
func (b *builder) homeUser(org, username string) (*composition.User, bool) {
	x := b.home()
	a, ok := x.accounts[org]
	if !ok {
		return nil, false
	}
	u, ok := x.users[homeUserKey{a.ID, username}]
	return u, ok
}

// homeApplication returns base's nth application (from 0, in id order)
// named name of the account org on the service with system_name: names need
// not be unique, so the documents' nth of that name is home's nth.
func (b *builder) homeApplication(org, service, name string, nth int) (*composition.Application, bool) {
	x := b.home()
	a, ok := x.accounts[org]
	if !ok {
		return nil, false
	}
	s, ok := b.base.ServiceBySystemName(service)
	if !ok {
		return nil, false
	}
	apps := x.apps[homeAppKey{a.ID, s.ID, name}]
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

// keepPolicySecrets puts back in chain, the service's policy chain as the
// document gives it, the values an export without secrets hid
// (RestoreChainSecrets): base's, policy by policy. A hidden value base has
// nothing for (a new service, a policy home does not hold) is refused.
func (b *builder) keepPolicySecrets(service string, chain []composition.PolicyConfig) error {
	var home []composition.PolicyConfig
	if p, ok := b.homeProxy(service); ok {
		home = p.PolicyChain
	}
	if err := RestoreChainSecrets(service, chain, home); err != nil {
		return b.errorf("proxy.policy_chain", "%v", err)
	}
	return nil
}
