package threescale

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"strconv"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/httpjson"
)

// entityPtr is a pointer to an entity struct, so collections can copy values.
type entityPtr[T any] interface {
	*T
	composition.Entity
}

// edit changes n, a new entity (old is nil) or a copy of old, from the
// request before it is stored.
type edit[P any] func(c *call, tx *composition.Tx, n, old P) error

// collection describes a 3scale collection of one kind of entity under a
// parent, and yields the list/create/read/update/delete handlers for it.
type collection[T any, P entityPtr[T]] struct {
	kind composition.Kind
	// names returns the element and list names for a format (3scale names
	// plans "application_plan" in JSON and "plan" in XML). A list name of ""
	// is a bare JSON array.
	names func(Format) (one, many string)
	table func(*composition.Composition) *composition.Table[P]
	// scope resolves the parent in the path: which entities belong to it and
	// how a new one is attached. A missing parent is ErrNotFound.
	scope func(c *call, s *composition.Composition) (belongs func(P) bool, attach func(P), err error)
	// defaults sets what a create starts from before parameters are bound.
	defaults func(P)
	// prepare applies request parameters that are not plain fields (state
	// events, nested documents) to n; old is nil on create.
	prepare edit[P]
	// insert stores a new entity; nil is tx.Create.
	insert func(tx *composition.Tx, n P) error
	// view gives the element name and the value to encode for e when the
	// wire shape is not the stored entity's; nil is e under the element
	// name of names.
	view func(c *call, e P) (name string, v any)
	// order sorts a list; nil keeps id order.
	order func([]P)
	// unpaged lists everything, ignoring page and per_page.
	unpaged bool
	// decode, when set, makes the collection Portolan's own JSON API
	// (placements) instead of 3scale's: decode reads a create's or
	// update's body before the store transaction, in place of 3scale's
	// parameters, and returns what sets the entity from it; answers are
	// encoding/json, {"one":{...}} and {"many":[...]}, and a delete's has no
	// body. Serve such a collection with handleOwn.
	decode func(c *call) (set func(P), err error)
}

// own reports whether the collection is Portolan's own JSON API (decode).
func (col *collection[T, P]) own() bool { return col.decode != nil }

func fixedNames(one, many string) func(Format) (string, string) {
	return func(Format) (string, string) { return one, many }
}

// ownerOf resolves the service or backend API named by the path wildcard
// param; a missing one is 404.
func ownerOf(c *call, s *composition.Composition, ownerType, param string) (int64, error) {
	id, err := c.id(param)
	if err != nil {
		return 0, err
	}
	ok := false
	switch ownerType {
	case composition.OwnerService:
		_, ok = s.Services.Get(id)
	case composition.OwnerBackendAPI:
		_, ok = s.BackendAPIs.Get(id)
	}
	if !ok {
		return 0, ErrNotFound
	}
	return id, nil
}

// routes returns the six routes of the collection at base (the list path)
// with the member wildcard named param.
func (col *collection[T, P]) routes(tag, what, base, param string, formats ...Format) []Route {
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

func (col *collection[T, P]) scoped(c *call, s *composition.Composition) (func(P) bool, func(P), error) {
	if col.scope == nil {
		return func(P) bool { return true }, func(P) {}, nil
	}
	return col.scope(c, s)
}

// render gives e's element name and the value to encode.
func (col *collection[T, P]) render(c *call, e P) (string, any) {
	if col.view != nil {
		return col.view(c, e)
	}
	one, _ := col.names(c.format)
	return one, e
}

func (col *collection[T, P]) list(c *call) error {
	s := c.snapshot()
	belongs, _, err := col.scoped(c, s)
	if err != nil {
		return err
	}
	items := col.table(s).Filter(belongs)
	if col.order != nil {
		col.order(items)
	}
	if !col.unpaged {
		if items, err = page(c, items); err != nil {
			return err
		}
	}
	one, many := col.names(c.format)
	if col.own() {
		httpjson.Write(c.w, c.status(), map[string]any{many: items})
		return nil
	}
	if col.view == nil {
		return c.list(many, one, items)
	}
	out := make([]viewItem, len(items))
	for i, e := range items {
		out[i].name, out[i].v = col.view(c, e)
	}
	return writeViewList(c, many, out)
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
		return col.one(c, e)
	}
}

// one answers the entity e.
func (col *collection[T, P]) one(c *call, e P) error {
	name, v := col.render(c, e)
	if col.own() {
		httpjson.Write(c.w, c.status(), map[string]any{name: v})
		return nil
	}
	return c.one(name, v)
}

// fill returns what sets a new entity or an edited copy from the request:
// 3scale's parameters, bound in the transaction, or the body, read by decode
// now. Before decode reads it, a member wildcard param that is no number is
// 404, as it always was for placements.
func (col *collection[T, P]) fill(c *call, param string, create bool) (func(P) error, error) {
	if col.decode == nil {
		return func(n P) error { return c.bind(n, create) }, nil
	}
	if param != "" {
		if _, err := strconv.ParseInt(c.r.PathValue(param), 10, 64); err != nil {
			return nil, ErrNotFound
		}
	}
	set, err := col.decode(c)
	if err != nil {
		return nil, err
	}
	return func(n P) error { set(n); return nil }, nil
}

func (col *collection[T, P]) create(c *call) error {
	fill, err := col.fill(c, "", true)
	if err != nil {
		return err
	}
	var n P
	_, err = c.update(func(tx *composition.Tx) error {
		_, attach, err := col.scoped(c, tx.View())
		if err != nil {
			return err
		}
		n = P(new(T))
		if col.defaults != nil {
			col.defaults(n)
		}
		if err := fill(n); err != nil {
			return err
		}
		attach(n) // the path wins over parameters
		if col.prepare != nil {
			if err := col.prepare(c, tx, n, nil); err != nil {
				return err
			}
		}
		if col.insert != nil {
			return col.insert(tx, n)
		}
		return tx.Create(n)
	})
	if err != nil {
		return err
	}
	return col.one(c, n)
}

func (col *collection[T, P]) update(param string) func(*call) error {
	return func(c *call) error {
		fill, err := col.fill(c, param, false)
		if err != nil {
			return err
		}
		return col.change(param, func(c *call, tx *composition.Tx, n, old P) error {
			if err := fill(n); err != nil {
				return err
			}
			if col.prepare != nil {
				return col.prepare(c, tx, n, old)
			}
			return nil
		})(c)
	}
}

// change returns a handler that lets fn edit a copy of the entity at param,
// stores it and answers it.
func (col *collection[T, P]) change(param string, fn edit[P]) func(*call) error {
	return func(c *call) error {
		n, err := col.modify(c, param, func(tx *composition.Tx, n, old P) error { return fn(c, tx, n, old) })
		if err != nil {
			return err
		}
		return col.one(c, n)
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
		if col.own() {
			c.w.WriteHeader(c.status()) // no body, no Content-Type
			return nil
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

type viewItem struct {
	name string
	v    any
}

// writeViewList writes {"many":[{"name":{...}},...]} (a bare array when many
// is "") or <many><name>...</name>...</many>, each item under its own name:
// 3scale's XML metric lists mix <metric> and <method>.
func writeViewList(c *call, many string, items []viewItem) error {
	enc := c.encoder()
	header := []byte(xml.Header[:len(xml.Header)-1])
	Write(c.w, c.format, c.status(), func(w io.Writer) error {
		var buf bytes.Buffer
		switch {
		case c.format == XML:
			buf.Write(header)
			buf.WriteString("<" + many + ">")
		case many != "":
			buf.WriteString(`{`)
			writeJSONString(&buf, many)
			buf.WriteString(`:[`)
		default:
			buf.WriteString(`[`)
		}
		for i, it := range items {
			var one bytes.Buffer
			if err := enc.One(&one, it.name, it.v); err != nil {
				return err
			}
			if c.format == XML {
				buf.Write(bytes.TrimPrefix(one.Bytes(), header))
				continue
			}
			if i > 0 {
				buf.WriteString(`,`)
			}
			buf.Write(one.Bytes())
		}
		switch {
		case c.format == XML:
			buf.WriteString("</" + many + ">")
		case many != "":
			buf.WriteString(`]}`)
		default:
			buf.WriteString(`]`)
		}
		_, err := w.Write(buf.Bytes())
		return err
	})
	return nil
}
