package composition

import "time"

// KindAccount is the kind of developer accounts.
const KindAccount Kind = "accounts"

// Account states.
const (
	AccountApproved = "approved"
	AccountPending  = "pending"
)

// Account is a developer (consumer) account.
type Account struct {
	ID                     int64             `json:"id" wire:"ro"`
	OrgName                string            `json:"org_name"`
	State                  string            `json:"state" wire:"ro"`
	CreditCardStored       bool              `json:"credit_card_stored" wire:"ro"`
	MonthlyBillingEnabled  bool              `json:"monthly_billing_enabled"`
	MonthlyChargingEnabled bool              `json:"monthly_charging_enabled"`
	VatRate                string            `json:"vat_rate"`
	OrgLegalAddress        string            `json:"org_legaladdress"`
	OrgLegalAddressCont    string            `json:"org_legaladdress_cont"`
	City                   string            `json:"city"`
	StateRegion            string            `json:"state_region"`
	Country                string            `json:"country"`
	Zip                    string            `json:"zip"`
	TelephoneNumber        string            `json:"telephone_number"`
	VatCode                string            `json:"vat_code"`
	FiscalCode             string            `json:"fiscal_code"`
	BusinessCategory       string            `json:"business_category"`
	PrimaryBusiness        string            `json:"primary_business"`
	PoNumber               string            `json:"po_number"`
	BillingAddress         map[string]string `json:"billing_address" wire:"omitempty"`
	CreatedAt              time.Time         `json:"created_at" wire:"ro"`
	UpdatedAt              time.Time         `json:"updated_at" wire:"ro"`
}

func (e *Account) Key() int64                     { return e.ID }
func (e *Account) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *Account) created() time.Time             { return e.CreatedAt }
func (*Account) info() kindInfo                   { return accountDef }

var accountDef = &kindDef[Account, *Account]{
	Kind:     KindAccount,
	Table:    func(c *Composition) *Table[*Account] { return &c.Accounts },
	Document: func(d *Document) *[]*Account { return &d.Accounts },
	Prepare: func(_ *Composition, a, old *Account) error {
		if old == nil {
			a.State = defaultStr(a.State, AccountApproved)
		}
		return nil
	},
	Validate: func(_ *Composition, a *Account) error {
		v := &ValidationError{}
		name(v, "org_name", a.OrgName)
		oneOf(v, "state", a.State, AccountApproved, AccountPending, "rejected", "suspended")
		return v.Err()
	},
	// An account's users and applications go with it.
	Cascade: func(tx *Tx, a *Account) {
		for _, u := range tx.c.Users.Filter(func(u *User) bool { return u.AccountID == a.ID }) {
			tx.drop(u)
		}
		for _, app := range tx.c.Applications.Filter(func(app *Application) bool { return app.AccountID == a.ID }) {
			tx.drop(app)
		}
	},
}
