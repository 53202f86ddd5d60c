package composition

import (
	"slices"
	"strconv"
	"time"
)

// An application subscribes an account to a service through a plan, with
// credentials generated to fit the service's authentication.
var applicationDef = &kindDef[Application, *Application]{
	Kind:     KindApplication,
	Table:    func(c *Composition) *Table[*Application] { return &c.Applications },
	Document: func(d *Document) *[]*Application { return &d.Applications },
	Parent:   func(a *Application) int64 { return a.ServiceID },
	Unique: func(a *Application) []string {
		return credentialNames(map[string]string{"user_key": a.UserKey, "application_id": a.AppID})
	},
	Prepare:  prepareApplication,
	Validate: validateApplication,
	// 3scale deletes a custom plan when its application leaves it (a plan
	// change, decustomize_plan) or is deleted.
	AfterUpdate: func(tx *Tx, a *Application) error { tx.dropUnusedCustomPlans(a.ServiceID, 0); return nil },
	Cascade:     func(tx *Tx, a *Application) { tx.dropUnusedCustomPlans(a.ServiceID, a.ID) },
	Import: func(a *Application, ref refFunc) {
		a.AccountID, a.ServiceID, a.PlanID = ref("user_account_id", a.AccountID), ref("service_id", a.ServiceID), ref("plan_id", a.PlanID)
	},
	HideSecrets: func(a *Application) {
		a.UserKey, a.AppID, a.AppKeys, a.ProviderVerificationKey = "", "", nil, ""
		a.KeyCreatedAt = nil // keyed by the app keys
	},
	NaturalKey: func(x *keyIndex, a *Application) (string, string, error) {
		svc, err := x.ref("service_id", a.ServiceID)
		if err != nil {
			return "", "", err
		}
		return x.ownedKey("user_account_id", a.AccountID, "application", keyName(a.Name)+"@"+svc)
	},
	// Keys' times move with Application Key Create, not with a document.
	Derived: []string{"state", "end_user_required", "key_created_at"},
	// Referrer filters carry ids of their own, which mean nothing to a
	// document: they are compared, and kept, by value.
	ByValue: func(a *Application) map[string]any {
		if len(a.ReferrerFilters) == 0 {
			return nil
		}
		return map[string]any{"referrer_filters": referrerValues(a.ReferrerFilters)}
	},
	Adopt: adoptReferrerFilters,
}

// referrerValues returns the values of filters, sorted, each once.
func referrerValues(filters []ReferrerFilter) []string {
	out := make([]string, len(filters))
	for i, f := range filters {
		out[i] = f.Value
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// adoptReferrerFilters gives a's referrer filters the ids and timestamps of
// old's filters of the same value, and new ones to the others, each value
// once.
func adoptReferrerFilters(tx *Tx, a, old *Application) {
	if len(a.ReferrerFilters) == 0 {
		a.ReferrerFilters = nil
		return
	}
	had := map[string]ReferrerFilter{}
	if old != nil {
		for _, f := range old.ReferrerFilters {
			had[f.Value] = f
		}
	}
	seen := map[string]bool{}
	out := make([]ReferrerFilter, 0, len(a.ReferrerFilters))
	for _, f := range a.ReferrerFilters {
		if seen[f.Value] {
			continue
		}
		seen[f.Value] = true
		if o, ok := had[f.Value]; ok {
			out = append(out, o)
			continue
		}
		now := tx.Now()
		out = append(out, ReferrerFilter{ID: tx.NextID(), Value: f.Value, CreatedAt: now, UpdatedAt: now})
	}
	a.ReferrerFilters = out
}

// prepareApplication takes the service from the plan and, on create, fills the
// state and the credentials the service's authentication needs.
func prepareApplication(c *Composition, a, old *Application) error {
	a.KeyCreatedAt = keptKeyTimes(a)
	plan, ok := c.ApplicationPlans.Get(a.PlanID)
	if !ok {
		return Invalid("plan_id", "does not exist")
	}
	if old != nil {
		// 3scale's change_plan takes a plan of the application's own
		// service: its credentials, usage and keys are that service's.
		if plan.ServiceID != old.ServiceID {
			return Invalid("plan_id", "must be a plan of the application's service")
		}
		a.ServiceID, a.AccountID = old.ServiceID, old.AccountID
		return nil
	}
	a.ServiceID = plan.ServiceID
	if a.State == "" {
		a.State = AppLive
		if plan.ApprovalRequired {
			a.State = AppPending
		}
	}
	svc, _ := c.Services.Get(plan.ServiceID)
	if svc != nil && svc.BackendVersion == "1" {
		if a.UserKey == "" {
			a.UserKey = randomHex(16)
		}
	} else if a.AppID == "" {
		a.AppID = randomHex(4)
		if svc != nil && svc.BackendVersion == "2" && len(a.AppKeys) == 0 {
			a.AppKeys = []string{randomHex(16)}
		}
	}
	if a.ProviderVerificationKey == "" {
		a.ProviderVerificationKey = randomHex(16)
	}
	return nil
}

// keptKeyTimes returns a's key times without those of keys it no longer
// has, however they went (a document's keys), so that a key added again
// is new; a new map, a's may be a snapshot's.
func keptKeyTimes(a *Application) map[string]time.Time {
	var out map[string]time.Time
	for k, t := range a.KeyCreatedAt {
		if slices.Contains(a.AppKeys, k) {
			if out == nil {
				out = make(map[string]time.Time, len(a.KeyCreatedAt))
			}
			out[k] = t
		}
	}
	return out
}

func validateApplication(c *Composition, a *Application, v *ValidationError) error {
	if _, ok := c.Accounts.Get(a.AccountID); !ok {
		return NotFound(KindAccount, a.AccountID)
	}
	name(v, "name", a.Name)
	text(v, "description", a.Description)
	oneOf(v, "state", a.State, AppLive, AppSuspended, AppPending)
	if a.UserKey != "" {
		credential(v, "user_key", a.UserKey)
		if c.Applications.takenUnder(a, "user_key "+a.UserKey) {
			v.Add("user_key", taken)
		}
	}
	if a.AppID != "" {
		credential(v, "application_id", a.AppID)
		if c.Applications.takenUnder(a, "application_id "+a.AppID) {
			v.Add("application_id", taken)
		}
	}
	for _, k := range a.AppKeys {
		credential(v, "key", k)
	}
	if len(a.AppKeys) > 5 {
		v.Add("keys", "too many keys (at most 5)")
	}
	referrerFilters(v, a.ReferrerFilters)
	return nil
}

// referrerFilters checks an application's referrer filters as the API and
// the manifest do (porta's format, MaxReferrerFilters at most), so that an
// imported document cannot hand every agent filters the API would refuse.
func referrerFilters(v *ValidationError, filters []ReferrerFilter) {
	if len(filters) > MaxReferrerFilters {
		v.Add("referrer_filters", "too many filters (at most "+strconv.Itoa(MaxReferrerFilters)+")")
	}
	for _, f := range filters {
		if msg := CheckReferrerFilter(f.Value); msg != "" {
			v.Add("referrer_filters", strconv.Quote(clipID(f.Value))+" "+msg)
			return
		}
	}
}

// credentialNames returns, for a Unique hook, "field value" for each field
// with a value: the values unique per field.
func credentialNames(values map[string]string) []string {
	out := make([]string, 0, len(values))
	for field, value := range values {
		if value != "" {
			out = append(out, field+" "+value)
		}
	}
	return out
}

func credential(v *ValidationError, field, s string) {
	if !isCredential(s) {
		v.Add(field, invalidFormat)
	}
}

// isCredential reports whether s is 1 to 256 printable ASCII characters
// without spaces, as `^[\x21-\x7e]{1,256}$` says. A loop, not that regexp:
// compiled, its repetition is a 160 KB program built at every start of
// every portolan process, agents included.
func isCredential(s string) bool {
	if len(s) == 0 || len(s) > 256 {
		return false
	}
	for i := range len(s) {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
