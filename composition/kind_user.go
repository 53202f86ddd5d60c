package composition

import (
	"regexp"
	"strings"
	"time"
)

// KindUser is the kind of users of developer accounts.
const KindUser Kind = "users"

// User roles and states.
const (
	RoleAdmin     = "admin"
	RoleMember    = "member"
	UserPending   = "pending"
	UserActive    = "active"
	UserSuspended = "suspended"
)

// User is a user of a developer account.
type User struct {
	ID        int64     `json:"id" wire:"ro"`
	AccountID int64     `json:"account_id" wire:"ro"`
	Username  string    `json:"username"`
	Email     string    `json:"email"`
	Password  string    `json:"password" wire:"secret"`
	Role      string    `json:"role" wire:"ro"`
	State     string    `json:"state" wire:"ro"`
	CreatedAt time.Time `json:"created_at" wire:"ro"`
	UpdatedAt time.Time `json:"updated_at" wire:"ro"`
}

func (e *User) Key() int64                     { return e.ID }
func (e *User) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *User) created() time.Time             { return e.CreatedAt }
func (*User) info() kindInfo                   { return userDef }

var userDef = &kindDef[User, *User]{
	Kind:     KindUser,
	Table:    func(c *Composition) *Table[*User] { return &c.Users },
	Document: func(d *Document) *[]*User { return &d.Users },
	Prepare: func(_ *Composition, u, old *User) error {
		if old != nil {
			u.AccountID = old.AccountID
			return nil
		}
		u.Role = defaultStr(u.Role, RoleMember)
		u.State = defaultStr(u.State, UserPending)
		return nil
	},
	Validate: validateUser,
	Import: func(u *User, ref func(string, int64) int64) {
		u.AccountID = ref("account_id", u.AccountID)
	},
	HideSecrets: func(u *User) { u.Password = "" },
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_.@+\-]+$`)

func validateUser(c *Composition, u *User) error {
	if _, ok := c.Accounts.Get(u.AccountID); !ok {
		return NotFound(KindAccount, u.AccountID)
	}
	v := &ValidationError{}
	name(v, "username", u.Username)
	if u.Username != "" && !usernameRE.MatchString(u.Username) {
		v.Add("username", invalidFormat)
	}
	if u.Email == "" {
		v.Add("email", blank)
	} else if !strings.Contains(u.Email, "@") || len(u.Email) > maxNameLen {
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
	return v.Err()
}
