package composition

import (
	"regexp"
	"strings"
)

// A user of a developer account: username and email unique, the password
// a secret an export may leave out.
var userDef = &kindDef[User, *User]{
	Kind:     KindUser,
	Table:    func(c *Composition) *Table[*User] { return &c.Users },
	Document: func(d *Document) *[]*User { return &d.Users },
	Keep:     func(u, old *User) { u.AccountID = old.AccountID },
	Prepare: func(_ *Composition, u, old *User) error {
		if old == nil {
			u.Role = defaultStr(u.Role, RoleMember)
			u.State = defaultStr(u.State, UserPending)
		}
		return nil
	},
	Validate: validateUser,
	Import: func(u *User, ref refFunc) {
		u.AccountID = ref("account_id", u.AccountID)
	},
	HideSecrets: func(u *User) { u.Password = "" },
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_.@+\-]+$`)

func validateUser(c *Composition, u *User, v *ValidationError) error {
	if _, ok := c.Accounts.Get(u.AccountID); !ok {
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
	if _, dup := c.Users.Find(func(o *User) bool { return o.Username == u.Username && o.ID != u.ID }); dup && u.Username != "" {
		v.Add("username", taken)
	}
	if _, dup := c.Users.Find(func(o *User) bool { return o.Email == u.Email && o.ID != u.ID }); dup && u.Email != "" {
		v.Add("email", taken)
	}
	oneOf(v, "role", u.Role, RoleAdmin, RoleMember)
	oneOf(v, "state", u.State, UserPending, UserActive, UserSuspended)
	return nil
}
