package coordinator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/httpjson"
	"github.com/portolan/portolan/internal/redact"
	"github.com/portolan/portolan/manifest"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// applyHandler serves POST registry.PathAdminApply: the documents of the
// body become home's composition in one store.Update, so the apply is one
// revision or none, and documents home already holds make none. With
// dry_run the plan is computed inside the same kind of Update and nothing
// is written. With prune the engine deletes what the documents' services
// and backends own but no longer declare (manifest.Owners: the Service and
// Backend documents', never those they only refer to), never anything else.
func (c *Coordinator) applyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.tokens.Check(r) {
			threescale.WriteError(w, threescale.JSON, threescale.Forbidden("Access denied"))
			return
		}
		q := r.URL.Query()
		dryRun, err1 := parseFlag(q, registry.ParamDryRun)
		prune, err2 := parseFlag(q, registry.ParamPrune)
		if err := errors.Join(err1, err2); err != nil {
			threescale.WriteError(w, threescale.JSON, threescale.BadRequest(err.Error()))
			return
		}
		source, err := documentsSource(r)
		if err != nil {
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		data, err := readBody(w, r)
		if err != nil {
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		// Decoding is what the slot bounds (apply_slots.go): hashing the
		// passwords (seconds of CPU for hundreds) and the write, which
		// serializes on the store's writer anyway, hold no other apply's
		// decode back.
		var docs []manifest.Document
		if err := c.decodeInSlot(r.Context(), func() { docs, err = decodeDocuments(data, source) }); err != nil {
			threescale.WriteError(w, threescale.JSON, &statusError{status: http.StatusServiceUnavailable, msg: err.Error()})
			return
		}
		if err != nil {
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		res, err := c.apply(r, docs, dryRun, prune)
		if err != nil {
			if threescale.StatusOf(err) >= 500 && r.Context().Err() == nil { // a client gone is no failure of home's
				c.cfg.Logger.Error().Err(err).Msg("apply")
			}
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		if res.Applied {
			cr, up, del := res.Counts()
			c.cfg.Logger.Info().Int("created", cr).Int("updated", up).Int("deleted", del).
				Uint64("revision", res.Revision).Msg("documents applied")
		}
		httpjson.Write(w, http.StatusOK, res)
	})
}

// errDryRun ends a dry run's store.Update once the apply has been made and
// checked in its Tx: the store then writes nothing.
var errDryRun = errors.New("dry run: nothing written")

// apply reconciles home's composition with docs in one store.Update. A dry
// run makes the same writes, held to the same checks (validation, the
// caps, the policy chains, the prune's scope), in a Tx the store then
// drops: its plan, or its refusal, is the apply's.
func (c *Coordinator) apply(r *http.Request, docs []manifest.Document, dryRun, prune bool) (*registry.ApplyResult, error) {
	// Only what the documents declare is theirs to prune: services and
	// backends they merely refer to are carried into the desired
	// composition, and would otherwise look owned.
	owners := manifest.Owners(docs)
	opts := composition.DiffOptions{Prune: prune && len(owners) > 0, Owners: owners, Secrets: true}
	// Hashing is slow on purpose: it is done before the writer is taken.
	if err := c.decodeSlots.passwords.resolvePasswords(r.Context(), docs, c.store.Snapshot()); err != nil {
		return nil, err
	}
	var plan *composition.Plan
	var base uint64
	write := c.api.CheckWrite(func(tx *composition.Tx) error {
		base = tx.View().Revision
		desired, err := manifest.Desired(docs, tx.View())
		if err != nil {
			return err
		}
		if desired, err = c.decodeSlots.passwords.hashPasswords(r.Context(), desired); err != nil {
			return err
		}
		if plan, err = composition.Reconcile(tx, desired, opts); err != nil {
			return err
		}
		return deletesWithinOwners(tx, owners)
	})
	snap, err := c.store.Update(r.Context(), func(tx *composition.Tx) error {
		if err := write(tx); err != nil {
			return err
		}
		if dryRun {
			if err := c.checkCommit(tx); err != nil {
				return err
			}
			return errDryRun
		}
		return nil
	})
	res := &registry.ApplyResult{}
	switch {
	case dryRun && errors.Is(err, errDryRun):
		res.Revision = base
	case err != nil:
		return nil, applyError(err)
	default:
		res.Revision, res.Applied = snap.Revision, snap.Revision != base
	}
	res.Changes = plan.Changes
	if res.Changes == nil {
		res.Changes = []composition.PlannedChange{}
	}
	redactSecrets(res.Changes)
	return res, nil
}

// commitChecker is a store that refuses some writes only when it commits
// them, and can tell without writing whether it would: consulstore, whose
// revisions must each fit one Consul transaction (63 entities, Consul's
// txn_max_req_len). CheckCommit answers the refusal the commit of changes,
// making next, would make, or nil.
type commitChecker interface {
	CheckCommit(changes []composition.Change, next *composition.Composition) error
}

// checkCommit refuses, in a dry run's Tx, what the store would refuse to
// commit, so the dry run answers what the apply would.
func (c *Coordinator) checkCommit(tx *composition.Tx) error {
	cc, ok := c.store.(commitChecker)
	if !ok {
		return nil // bbolt commits any revision its validation let through
	}
	changes := tx.Changes()
	if len(changes) == 0 {
		return nil // no revision: nothing to commit
	}
	return cc.CheckCommit(changes, tx.Result()) // the Tx is dropped after a dry run
}

// deletesWithinOwners refuses a write that deleted a usage limit or a
// pricing rule of a plan of a service that is not one of owners: 3scale's
// cascade takes them with a metric or method their plan refers to, so a
// prune of a shared backend's method would otherwise silently change
// other services' plans, which neither the plan shows nor README allows
// ("other services ... are never touched").
func deletesWithinOwners(tx *composition.Tx, owners []string) error {
	base := tx.Base()
	for _, ch := range tx.Changes() {
		if ch.Entity != nil {
			continue // not a delete
		}
		var planID, metricID int64
		var what string
		switch ch.Kind {
		case composition.KindUsageLimit:
			l, ok := base.UsageLimits.Get(ch.ID)
			if !ok {
				continue // made and deleted in this write
			}
			planID, metricID, what = l.PlanID, l.MetricID, "limit"
		case composition.KindPricingRule:
			p, ok := base.PricingRules.Get(ch.ID)
			if !ok {
				continue
			}
			planID, metricID, what = p.PlanID, p.MetricID, "pricing rule"
		default:
			continue
		}
		plan, ok := base.ApplicationPlans.Get(planID)
		if !ok {
			continue
		}
		svc, ok := base.Services.Get(plan.ServiceID)
		if !ok || slices.Contains(owners, composition.ServiceKey(svc.SystemName)) {
			continue
		}
		metric := strconv.FormatInt(metricID, 10)
		if m, ok := base.Metrics.Get(metricID); ok {
			metric = m.SystemName
		}
		return &documentsError{msgs: []string{fmt.Sprintf(
			"pruning metric %q would delete the %s on it of plan %q of service %q, which the documents do not declare: "+
				"remove that %s from the plan first, or apply service %q's documents with these",
			metric, what, plan.SystemName, svc.SystemName, what, svc.SystemName)}}
	}
	return nil
}

// secretFields are the fields of a plan's updates that hold credentials
// (the composition's HideSecrets): a plan is printed in CI logs, so it says
// that one changed, never what it was or becomes.
var secretFields = map[composition.Kind][]string{
	composition.KindProxy:       {"secret_token", "oidc_issuer_endpoint"}, // the issuer URL may hold the client's credentials
	composition.KindUser:        {"password"},
	composition.KindApplication: {"user_key", "application_id", "keys", "provider_verification_key"},
}

// redacted stands for a secret's value in a plan.
var redacted = []byte(`"(secret)"`)

// redactSecrets hides the credentials of changes: the secret fields whole,
// and in a proxy's policy chain what the console hides of one too
// (redact.Config: client_secret, embedded private keys, a URL's password).
func redactSecrets(changes []composition.PlannedChange) {
	for i := range changes {
		for j := range changes[i].Fields {
			f := &changes[i].Fields[j]
			switch {
			case slices.Contains(secretFields[changes[i].Kind], f.Field):
				f.Old, f.New = redacted, redacted
			case changes[i].Kind == composition.KindProxy && f.Field == "policy_chain":
				f.Old, f.New = redactPolicyChain(f.Old), redactPolicyChain(f.New)
			}
		}
	}
}

// redactPolicyChain is the JSON value of a policy chain with its
// credentials redacted; a value it cannot read is redacted whole.
func redactPolicyChain(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers shown as written
	if err := dec.Decode(&v); err != nil {
		return redacted
	}
	out, err := json.Marshal(redact.Config(v, func(any) any { return "(secret)" }))
	if err != nil {
		return redacted
	}
	return out
}

// readBody reads the request body, at most manifest.MaxBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, manifest.MaxBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, threescale.TooLarge(manifest.MaxBytes)
		}
		return nil, threescale.BadRequest("read documents: " + err.Error())
	}
	return data, nil
}

// documentsSource names the body in errors by its Content-Type, and
// refuses a format apply does not read.
func documentsSource(r *http.Request) (string, error) {
	switch ct := r.Header.Get("Content-Type"); mediaType(ct) {
	case "application/json":
		return "JSON body", nil
	case "", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
		return "YAML body", nil
	default:
		return "", unsupportedType(ct)
	}
}

// decodeDocuments decodes the body: every problem of every document, or
// none.
func decodeDocuments(data []byte, source string) ([]manifest.Document, error) {
	docs, err := manifest.Decode(bytes.NewReader(data), source)
	if err != nil {
		return nil, applyError(err)
	}
	if len(docs) == 0 {
		return nil, threescale.BadRequest("no documents in the body")
	}
	return docs, nil
}

func mediaType(ct string) string {
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	return mt
}

// parseFlag reads the boolean query parameter name; absent is false.
func parseFlag(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%s: want true or false", name, v)
	}
	return b, nil
}
