package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds each page's template, parsed once with the layout.
type pages struct {
	byName map[string]*template.Template
}

// Page is what every page's template receives: the layout's fields and the
// page's own data in Data.
type Page struct {
	Title   string
	Nav     string // the nav entry to mark current: "map", "services", "traffic"
	CSRF    string // the session's CSRF token, for forms that post
	Version string
	Data    any
}

// parsePages parses layout.html with each other template in templates/.
// A page template defines "content" (and may define "head").
func parsePages() (*pages, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console: layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, file := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(file, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, file)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// render writes page name with the layout, or a 500 without a half-written
// page when the template fails.
func (c *Console) render(w http.ResponseWriter, status int, name string, page Page) {
	t, ok := c.pages.byName[name]
	if !ok {
		http.Error(w, "console: no page "+name, http.StatusInternalServerError)
		return
	}
	// Only a signed-in page (one with a session's CSRF token) names the
	// version: before login the console shows nothing of home, and a
	// version tells an attacker which known flaw to try.
	if page.Version == "" && page.CSRF != "" {
		page.Version = c.cfg.Version
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", page); err != nil {
		c.cfg.Logger.Error().Err(err).Str("page", name).Msg("console: rendering a page failed")
		http.Error(w, "console: the page could not be drawn", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// static serves the embedded stylesheet and script.
func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	return http.StripPrefix(Prefix+"static/", http.FileServerFS(sub))
}

// funcs are the template functions every page may use.
var funcs = template.FuncMap{
	"mask": Mask,
}

// Mask shows a secret's first two characters and hides the rest, so an
// operator can tell keys apart without the console ever showing one.
func Mask(s string) string {
	if len(s) <= 4 {
		return "••••"
	}
	return s[:2] + "••••"
}
