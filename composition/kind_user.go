package composition

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A user of a developer account: username and email unique, the password
// a secret an export may leave out.
var userDef = &kindDef[User, *User]{
	Kind:     KindUser,
	Table:    func(c *Composition) *Table[*User] { return &c.Users },
	Document: func(d *Document) *[]*User { return &d.Users },
	// Usernames and emails are unique across accounts: one group.
	Parent: func(*User) int64 { return 0 },
	Unique: func(u *User) []string {
		return credentialNames(map[string]string{"username": u.Username, "email": u.Email})
	},
	Keep: func(u, old *User) { u.AccountID = old.AccountID },
	Prepare: func(_ *Composition, u, old *User) error {
		if old == nil {
			u.Role = defaultStr(u.Role, RoleMember)
			u.State = defaultStr(u.State, UserPending)
		}
		return nil
	},
	Validate: validateUser,
	// A provider user takes its notification preferences and access tokens
	// with it, as porta's user destroys its tokens.
	Cascade: func(tx *Tx, u *User) {
		if p, ok := tx.c.NotificationPreferencesOf(u.ID); ok {
			tx.drop(p)
		}
		for _, t := range tx.c.AccessTokens.Filter(func(t *AccessToken) bool { return t.UserID == u.ID }) {
			tx.drop(t)
		}
	},
	Import: func(u *User, ref refFunc) {
		u.AccountID = ref("account_id", u.AccountID)
		if u.AllowedServiceIDs != nil {
			ids := make([]int64, len(*u.AllowedServiceIDs))
			for i, id := range *u.AllowedServiceIDs {
				ids[i] = ref("allowed_service_ids", id)
			}
			u.AllowedServiceIDs = &ids
		}
	},
	HideSecrets: func(u *User) { u.Password = "" },
	// A provider user's parent is ProviderKey.
	NaturalKey: func(x *keyIndex, u *User) (string, string, error) {
		return x.ownedKey("account_id", u.AccountID, "user", keyName(u.Username))
	},
	Derived: []string{"state"},
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_.@+\-]+$`)

func validateUser(c *Composition, u *User, v *ValidationError) error {
	if _, ok := c.Accounts.Get(u.AccountID); !ok && u.AccountID != ProviderAccountID {
		return NotFound(KindAccount, u.AccountID)
	}
	name(v, "username", u.Username)
	if u.Username != "" && !usernameRE.MatchString(u.Username) {
		v.Add("username", invalidFormat)
	}
	// An email may be blank: 3scale's API signups are "minimal" and need
	// none. Where 3scale requires one (User Create), the API says so.
	if u.Email != "" && (!strings.Contains(u.Email, "@") || len(u.Email) > maxNameLen) {
		v.Add("email", "should look like an email address")
	}
	if u.Username != "" && c.Users.takenUnder(u, "username "+u.Username) {
		v.Add("username", taken)
	}
	if u.Email != "" && c.Users.takenUnder(u, "email "+u.Email) {
		v.Add("email", taken)
	}
	oneOf(v, "role", u.Role, RoleAdmin, RoleMember)
	oneOf(v, "state", u.State, UserPending, UserActive, UserSuspended)
	validatePermissions(c, u, v)
	return nil
}

// AdminSections are the admin portal sections 3scale lets a provider member
// be allowed into (its member permissions), sorted.
var AdminSections = []string{"finance", "monitoring", "partners", "plans", "policy_registry", "portal", "settings"}

// validatePermissions checks a user's member permissions: only a provider
// user has any, each section one of AdminSections, each service one of the
// provider's.
func validatePermissions(c *Composition, u *User, v *ValidationError) {
	if u.AccountID != ProviderAccountID {
		if len(u.AllowedSections) > 0 || u.AllowedServiceIDs != nil {
			v.Add("member_permissions", "are only for users of the provider account")
		}
		return
	}
	for _, s := range u.AllowedSections {
		if !slices.Contains(AdminSections, s) {
			v.Add("allowed_sections", notIncluded)
			break
		}
	}
	if u.AllowedServiceIDs == nil {
		return
	}
	for _, id := range *u.AllowedServiceIDs {
		if _, ok := c.Services.Get(id); !ok {
			v.Add("allowed_service_ids", "refers to service "+strconv.FormatInt(id, 10)+", which does not exist")
			break
		}
	}
}

// ProviderUsers returns the users of the provider's own account, in id order.
func (c *Composition) ProviderUsers() []*User {
	return c.Users.Filter(func(u *User) bool { return u.AccountID == ProviderAccountID })
}

// forgetServicePermission takes service serviceID out of every provider
// member's allowed services: part of the service's cascade.
func (tx *Tx) forgetServicePermission(serviceID int64) {
	for _, u := range tx.c.ProviderUsers() {
		if u.AllowedServiceIDs == nil || !slices.Contains(*u.AllowedServiceIDs, serviceID) {
			continue
		}
		n := *u
		ids := slices.DeleteFunc(slices.Clone(*u.AllowedServiceIDs), func(id int64) bool { return id == serviceID })
		n.AllowedServiceIDs, n.UpdatedAt = &ids, tx.now
		tx.put(&n)
	}
}
