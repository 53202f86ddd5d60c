package threescale

import (
	"net/http"

	"github.com/portolan/portolan/composition"
)

// entityPtr is a pointer to an entity struct, so collections can copy values.
type entityPtr[T any] interface {
	*T
	composition.Entity
}

// collection describes a 3scale collection of one kind of entity under a
// parent, and yields the list/create/read/update/delete handlers for it.
type collection[T any, P entityPtr[T]] struct {
	kind composition.Kind
	// names returns the element and list names for a format (3scale names
	// plans "application_plan" in JSON and "plan" in XML).
	names func(Format) (one, many string)
	table func(*composition.Composition) *composition.Table[P]
	// scope resolves the parent in the path: which entities belong to it and
	// how a new one is attached. A missing parent is ErrNotFound.
	scope func(c *call, s *composition.Composition) (belongs func(P) bool, attach func(P), err error)
	// defaults sets what a create starts from before parameters are bound.
	defaults func(P)
	// prepare applies request parameters that are not plain fields (state
	// events, nested documents) to n; old is nil on create.
	prepare func(c *call, tx *composition.Tx, n, old P) error
}

func fixedNames(one, many string) func(Format) (string, string) {
	return func(Format) (string, string) { return one, many }
}

func (col *collection[T, P]) scoped(c *call, s *composition.Composition) (func(P) bool, func(P), error) {
	if col.scope == nil {
		return func(P) bool { return true }, func(P) {}, nil
	}
	return col.scope(c, s)
}

func (col *collection[T, P]) list(c *call) error {
	s := c.snapshot()
	belongs, _, err := col.scoped(c, s)
	if err != nil {
		return err
	}
	items, err := page(c, col.table(s).Filter(belongs))
	if err != nil {
		return err
	}
	one, many := col.names(c.format)
	return c.list(many, one, items)
}

func (col *collection[T, P]) find(c *call, s *composition.Composition, param string) (P, error) {
	belongs, _, err := col.scoped(c, s)
	if err != nil {
		return nil, err
	}
	id, err := c.id(param)
	if err != nil {
		return nil, err
	}
	e, ok := col.table(s).Get(id)
	if !ok || !belongs(e) {
		return nil, ErrNotFound
	}
	return e, nil
}

func (col *collection[T, P]) read(param string) func(*call) error {
	return func(c *call) error {
		e, err := col.find(c, c.snapshot(), param)
		if err != nil {
			return err
		}
		one, _ := col.names(c.format)
		return c.one(one, e)
	}
}

func (col *collection[T, P]) create(c *call) error {
	var n P
	_, err := c.update(func(tx *composition.Tx) error {
		_, attach, err := col.scoped(c, tx.View())
		if err != nil {
			return err
		}
		n = P(new(T))
		if col.defaults != nil {
			col.defaults(n)
		}
		if err := c.bind(n, true); err != nil {
			return err
		}
		attach(n) // the path wins over parameters
		if col.prepare != nil {
			if err := col.prepare(c, tx, n, nil); err != nil {
				return err
			}
		}
		return tx.Create(n)
	})
	if err != nil {
		return err
	}
	one, _ := col.names(c.format)
	return c.one(one, n)
}

func (col *collection[T, P]) update(param string) func(*call) error {
	return func(c *call) error {
		n, err := col.modify(c, param, func(tx *composition.Tx, n, old P) error {
			if err := c.bind(n, false); err != nil {
				return err
			}
			if col.prepare != nil {
				return col.prepare(c, tx, n, old)
			}
			return nil
		})
		if err != nil {
			return err
		}
		one, _ := col.names(c.format)
		return c.one(one, n)
	}
}

// modify copies the entity at param, lets change edit the copy, and stores it.
func (col *collection[T, P]) modify(c *call, param string, change func(tx *composition.Tx, n, old P) error) (P, error) {
	var n P
	_, err := c.update(func(tx *composition.Tx) error {
		old, err := col.find(c, tx.View(), param)
		if err != nil {
			return err
		}
		n = P(new(T))
		*n = *(*T)(old)
		if err := change(tx, n, old); err != nil {
			return err
		}
		return tx.Update(n)
	})
	return n, err
}

func (col *collection[T, P]) remove(param string) func(*call) error {
	return func(c *call) error {
		_, err := c.update(func(tx *composition.Tx) error {
			old, err := col.find(c, tx.View(), param)
			if err != nil {
				return err
			}
			return tx.Delete(col.kind, old.Key())
		})
		if err != nil {
			return err
		}
		return c.empty()
	}
}

// empty answers a delete: 3scale sends no body.
func (c *call) empty() error {
	c.w.Header().Set("Content-Type", c.format.ContentType())
	c.w.WriteHeader(c.status())
	return nil
}

// crudRoutes returns the five routes of a collection at base (the list path)
// with the member wildcard named param.
func crudRoutes[T any, P entityPtr[T]](col *collection[T, P], tag, what, base, param string, formats ...Format) []Route {
	member := base + "/{" + param + "}"
	return []Route{
		{Method: http.MethodGet, Path: base, Tag: tag, Summary: what + " List", Formats: formats, handle: col.list},
		{Method: http.MethodPost, Path: base, Tag: tag, Summary: what + " Create", Formats: formats, Status: http.StatusCreated, handle: col.create},
		{Method: http.MethodGet, Path: member, Tag: tag, Summary: what + " Read", Formats: formats, handle: col.read(param)},
		{Method: http.MethodPut, Path: member, Tag: tag, Summary: what + " Update", Formats: formats, handle: col.update(param)},
		{Method: http.MethodPatch, Path: member, Tag: tag, Summary: what + " Update", Formats: formats, handle: col.update(param)},
		{Method: http.MethodDelete, Path: member, Tag: tag, Summary: what + " Delete", Formats: formats, handle: col.remove(param)},
	}
}
