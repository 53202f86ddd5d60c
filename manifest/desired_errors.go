package manifest

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
)

// Desired names every problem of the documents at once, as Decode does,
// not only the first: an operator fixing ten mistakes needs one round trip,
// not ten. A refused entity is left out of what is built and the build goes
// on; what refers to it (a rule on a refused metric, an application of a
// refused service) is skipped, not refused again (errCascade): the reader
// fixes the first and the rest follows.

// errCascade stands for a reference to an entity already refused: it is
// not reported.
var errCascade = errors.New("manifest: refers to an entity already refused")

// problem is one refusal and the position of its document in Desired's
// documents: they are reported in document order, not in the kinds' order
// Desired builds them in.
type problem struct {
	at int
	e  *Error
}

// report records what err refuses in the current document, unless it is
// nil or only follows from a refusal already recorded.
func (b *builder) report(err error) {
	if err == nil || errors.Is(err, errCascade) {
		return
	}
	var es Errors
	if !errors.As(err, &es) {
		es = b.errorf("", "%v", err).(Errors)
	}
	for _, e := range es {
		b.problems = append(b.problems, problem{at: b.at, e: e})
	}
}

// refused returns the problems recorded, as Errors in document order (at
// most maxErrors, the rest counted), or nil when there are none.
func (b *builder) refused() error {
	if len(b.problems) == 0 {
		return nil
	}
	slices.SortStableFunc(b.problems, func(x, y problem) int { return cmp.Compare(x.at, y.at) })
	var es Errors
	for _, p := range b.problems {
		es.add(p.e)
	}
	return es
}

// refuse records that the entity of key (refusedService and its kin) was
// refused.
func (b *builder) refuse(key string) {
	if b.failed == nil {
		b.failed = map[string]bool{}
	}
	b.failed[key] = true
}

// missing is what a reference to key that resolved to nothing returns:
// errCascade when key was refused, else err.
func (b *builder) missing(key string, err error) error {
	if b.failed[key] {
		return errCascade
	}
	return err
}

// Keys of what refuse records.
func refusedService(name string) string     { return "service\x00" + name }
func refusedBackend(name string) string     { return "backend\x00" + name }
func refusedAccountPlan(name string) string { return "account_plan\x00" + name }

func refusedPlan(serviceID int64, name string) string {
	return "plan\x00" + strconv.FormatInt(serviceID, 10) + "\x00" + name
}

func refusedFeature(serviceID int64, name string) string {
	return "feature\x00" + strconv.FormatInt(serviceID, 10) + "\x00" + name
}

func refusedMetric(ownerType string, ownerID int64, name string) string {
	return "metric\x00" + ownerType + "\x00" + strconv.FormatInt(ownerID, 10) + "\x00" + name
}
