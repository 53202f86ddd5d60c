package console

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// Long lists (the map's instances, a service's applications, the services)
// are shown a page at a time, chosen by the query's "page" (1-based).
// Page numbers are clamped, never refused: anything that is not a number
// above 1 is the first page, and a page past the last is the last, so a
// stale link (the list shrank since) still lands on something.

// maxPage bounds a page number, so its offset cannot overflow: 2^20 pages
// of 100 are far more rows than a home holds.
const maxPage = 1 << 20

// pageParam reads the page number q asks for, clamped to [1, maxPage];
// the caller clamps it to its last page (pageOf).
func pageParam(q url.Values) int {
	raw := q.Get("page")
	n, err := strconv.Atoi(raw)
	switch {
	case errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(raw, "-"):
		return maxPage // a number too long for an int is far past the last page
	case err != nil:
		return 1
	}
	return min(max(n, 1), maxPage)
}

// pageLink is one numbered link of a pager.
type pageLink struct {
	N       int
	URL     string
	Current bool
}

// pageInfo is one page of a list of Total rows, Per to a page, with what a
// template needs to say where it is and to move on: "Showing 101–200 of
// 20000", previous and next links, and numbered links near the current
// page.
type pageInfo struct {
	Of               string // what the list holds, plural: "applications"
	Page, Pages      int
	Per              int
	From, To, Total  int    // 1-based positions of the page's first and last row; 0, 0 for an empty list
	PrevURL, NextURL string // "" on the first and last pages
	Links            []pageLink
}

// pageOf places page want of a list of total rows (of: what they are), per to a page, drawing
// page n's address with url; a page past the last is the last.
func pageOf(of string, want, total, per int, url func(n int) string) pageInfo {
	p := pageInfo{Of: of, Per: per, Total: total, Pages: max(1, (total+per-1)/per)}
	p.Page = min(max(want, 1), p.Pages)
	if total > 0 {
		p.From = (p.Page-1)*per + 1
		p.To = min(p.Page*per, total)
	}
	if p.Page > 1 {
		p.PrevURL = url(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.NextURL = url(p.Page + 1)
	}
	p.Links = pageLinks(p.Page, p.Pages, url)
	return p
}

// bounds are the indices of the page's rows in the whole list: list[lo:hi].
func (p pageInfo) bounds() (lo, hi int) {
	if p.Total == 0 {
		return 0, 0
	}
	return p.From - 1, p.To
}

// pageLinks links the first and last pages and those near the current one,
// so a hundred pages take a dozen links; one page takes none.
func pageLinks(cur, pages int, url func(n int) string) []pageLink {
	if pages <= 1 {
		return nil
	}
	link := func(n int) pageLink { return pageLink{N: n, URL: url(n), Current: n == cur} }
	out := []pageLink{link(1)}
	for n := max(2, cur-3); n <= min(pages-1, cur+3); n++ {
		out = append(out, link(n))
	}
	return append(out, link(pages))
}

// capped keeps the first n of rows, for a list shown whole but bounded,
// and says how many it left out.
func capped[T any](rows []T, n int) ([]T, int) {
	if len(rows) <= n {
		return rows, 0
	}
	return rows[:n], len(rows) - n
}
