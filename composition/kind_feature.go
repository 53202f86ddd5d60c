package composition

import (
	"slices"
	"strconv"
	"time"
)

// KindFeature is the kind of plan features (3scale's Service Features and
// Account Features): a named capability a plan can enable.
const KindFeature Kind = "features"

// OwnerAccount owns the provider's account features (3scale's featurable
// type Account; the owner id is ProviderAccountID).
const OwnerAccount = "Account"

// The kinds of plan a feature is for: 3scale's scope, which it renders
// underscored ("application_plan") on the wire.
const (
	ScopeApplicationPlan = "ApplicationPlan"
	ScopeServicePlan     = "ServicePlan"
	ScopeAccountPlan     = "AccountPlan"
)

// Feature is a feature a service (or the provider's account) offers, and the
// plans that enable it: 3scale's features and features_plans tables in one
// entity, since a link has nothing but its two ends.
type Feature struct {
	ID          int64  `json:"id" wire:"ro"`
	OwnerType   string `json:"featurable_type" wire:"-"`
	OwnerID     int64  `json:"featurable_id" wire:"-"`
	Name        string `json:"name"`
	SystemName  string `json:"system_name"`
	Scope       string `json:"scope"`
	Visible     bool   `json:"visible"`
	Description string `json:"description"`
	// PlanIDs are the plans that enable the feature, in the order they
	// enabled it.
	PlanIDs   []int64   `json:"plan_ids,omitempty" wire:"-"`
	CreatedAt time.Time `json:"created_at" wire:"ro"`
	UpdatedAt time.Time `json:"updated_at" wire:"ro"`
}

// EnabledOn reports whether plan planID enables f.
func (f *Feature) EnabledOn(planID int64) bool { return slices.Contains(f.PlanIDs, planID) }

func (e *Feature) Key() int64 { return e.ID }
func (e *Feature) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *Feature) created() time.Time { return e.CreatedAt }
func (*Feature) info() kindInfo       { return featureDef }

// A feature belongs to a service (scope ApplicationPlan or ServicePlan) or to
// the provider's account (scope AccountPlan), with a system_name of its own
// within its owner; it is enabled only on plans of its scope and owner.
// Enabling and disabling (EnableFeature, DisableFeature) leave the feature's
// updated_at alone: in 3scale they write the link, not the feature.
var featureDef = &kindDef[Feature, *Feature]{
	Kind:     KindFeature,
	Table:    func(c *Composition) *Table[*Feature] { return &c.Features },
	Document: func(d *Document) *[]*Feature { return &d.Features },
	Parent:   func(f *Feature) int64 { return f.OwnerID },
	Unique:   func(f *Feature) []string { return []string{f.OwnerType + " " + f.SystemName} },
	Keep: func(f, old *Feature) {
		f.OwnerType, f.OwnerID, f.SystemName, f.PlanIDs = old.OwnerType, old.OwnerID, old.SystemName, old.PlanIDs
	},
	Prepare: func(_ *Composition, f, old *Feature) error {
		if old == nil {
			f.SystemName = defaultStr(f.SystemName, SystemName(f.Name))
		}
		if f.OwnerType == OwnerAccount {
			f.Scope = ScopeAccountPlan // 3scale sets it for account features
		}
		f.Scope = defaultStr(f.Scope, ScopeApplicationPlan)
		return nil
	},
	Validate: validateFeature,
	Import: func(f *Feature, ref refFunc) {
		f.OwnerID = ref("featurable_id", f.OwnerID)
		f.PlanIDs = refList(f.PlanIDs, "plan_ids", ref)
	},
	// The provider's account features are not declared: an AccountPlan
	// document names no features (manifest/FORMAT.md).
	NaturalKey: func(x *keyIndex, f *Feature) (string, string, error) {
		if f.OwnerType != OwnerService {
			return "", "", errUnmanaged
		}
		return x.ownedKey("featurable_id", f.OwnerID, "feature", f.SystemName)
	},
}

func validateFeature(c *Composition, f *Feature, v *ValidationError) error {
	switch f.OwnerType {
	case OwnerService:
		if _, ok := c.Services.Get(f.OwnerID); !ok {
			return NotFound(KindService, f.OwnerID)
		}
		if f.Scope != ScopeApplicationPlan && f.Scope != ScopeServicePlan {
			v.Add("scope", "must be ApplicationPlan or ServicePlan")
		}
	case OwnerAccount:
		if f.OwnerID != ProviderAccountID {
			return NotFound(KindAccount, f.OwnerID)
		}
		if f.Scope != ScopeAccountPlan {
			v.Add("scope", "must be an AccountPlan")
		}
	default:
		v.Add("featurable_type", notIncluded+" ("+OwnerService+", "+OwnerAccount+")")
		return nil
	}
	name(v, "name", f.Name)
	systemName(v, f.SystemName)
	text(v, "description", f.Description)
	if c.Features.takenUnder(f, f.OwnerType+" "+f.SystemName) {
		v.Add("system_name", taken)
	}
	for i, id := range f.PlanIDs {
		if slices.Contains(f.PlanIDs[:i], id) {
			v.Add("plan_ids", "plan "+strconv.FormatInt(id, 10)+" is listed twice")
			continue
		}
		if err := c.featurePlanMatches(f, id); err != nil {
			return err
		}
	}
	return nil
}

// featurePlanMatches checks that plan planID exists and may enable f: a plan
// of f's owner (3scale looks the feature up among the plan's service's, so
// another owner's is not found) and of f's scope (3scale reports a plan of
// another kind as plan_type "mismatch").
func (c *Composition) featurePlanMatches(f *Feature, planID int64) error {
	if isAccountPlan, err := c.accountPlanMatches(f, planID); isAccountPlan {
		return err
	}
	var serviceID int64
	scope := ScopeApplicationPlan
	if plan, ok := c.ApplicationPlans.Get(planID); ok {
		serviceID = plan.ServiceID
	} else if sp, ok := c.ServicePlans.Get(planID); ok {
		serviceID, scope = sp.ServiceID, ScopeServicePlan
	} else {
		return NotFound(KindApplicationPlan, planID)
	}
	if f.OwnerType != OwnerService || f.OwnerID != serviceID {
		return NotFound(KindFeature, f.ID)
	}
	if f.Scope != scope {
		return Invalid("plan_type", "mismatch")
	}
	return nil
}

// FeaturesOf returns the features an owner defines, in id order.
func (c *Composition) FeaturesOf(ownerType string, ownerID int64) []*Feature {
	return c.Features.Filter(func(f *Feature) bool { return f.OwnerType == ownerType && f.OwnerID == ownerID })
}

// PlanFeatures returns the features plan planID enables, in id order.
func (c *Composition) PlanFeatures(planID int64) []*Feature {
	return c.Features.Filter(func(f *Feature) bool { return f.EnabledOn(planID) })
}

// EnableFeature enables feature featureID on plan planID. A missing plan or
// feature, or a feature of another owner than the plan's, is not found; a
// feature of another scope is 3scale's plan_type mismatch; one already
// enabled is refused as taken.
func (tx *Tx) EnableFeature(featureID, planID int64) (*Feature, error) {
	f, ok := tx.c.Features.Get(featureID)
	if !ok {
		return nil, NotFound(KindFeature, featureID)
	}
	if err := tx.c.featurePlanMatches(f, planID); err != nil {
		return nil, err
	}
	if f.EnabledOn(planID) {
		return nil, Invalid("feature_id", taken)
	}
	n := *f
	n.PlanIDs = append(slices.Clip(f.PlanIDs), planID)
	tx.put(&n)
	return &n, nil
}

// DisableFeature disables feature featureID on plan planID; a feature the
// plan does not enable is not found, as in 3scale.
func (tx *Tx) DisableFeature(featureID, planID int64) error {
	f, ok := tx.c.Features.Get(featureID)
	if !ok || !f.EnabledOn(planID) {
		return NotFound(KindFeature, featureID)
	}
	tx.put(f.withoutPlan(planID))
	return nil
}

// withoutPlan returns a copy of f that plan planID no longer enables.
func (f *Feature) withoutPlan(planID int64) *Feature {
	n := *f
	n.PlanIDs = slices.DeleteFunc(slices.Clone(f.PlanIDs), func(id int64) bool { return id == planID })
	if len(n.PlanIDs) == 0 {
		n.PlanIDs = nil
	}
	return &n
}

// disableFeaturesOn disables every feature plan planID enables: part of the
// plan's cascade.
func (tx *Tx) disableFeaturesOn(planID int64) {
	for _, f := range tx.c.PlanFeatures(planID) {
		tx.put(f.withoutPlan(planID))
	}
}

// dropFeaturesOf removes the features an owner defines: part of the owner's
// cascade.
func (tx *Tx) dropFeaturesOf(ownerType string, ownerID int64) {
	for _, f := range tx.c.FeaturesOf(ownerType, ownerID) {
		tx.drop(f)
	}
}
