package app

import (
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"chatapp/shared"
)

// A message's text as the page shows it: plain text, with web addresses
// as links and the mentions the server found (PROTOCOL.md 4.7)
// highlighted. Every part is text to go-app (escaped, never markup).

// linkRe finds web addresses in a message.
var linkRe = regexp.MustCompile(`https?://[^\s<>"]+`)

// mentionRe finds @ids: the @ at the start or after a character that
// cannot be part of an id.
var mentionRe = regexp.MustCompile(`(^|[^A-Za-z0-9_.\-])@([A-Za-z0-9_.\-]+)`)

// richText renders text with its links and the mentions of ids (as the
// message's mentions list names them; any case in the text).
func richText(text string, mentions []string) []app.UI {
	if len(mentions) == 0 {
		return linkify(text)
	}
	var out []app.UI
	last := 0
	for _, loc := range mentionRe.FindAllStringSubmatchIndex(text, -1) {
		start, end := loc[4]-1, loc[5]                 // the @ and the id after it
		id := strings.TrimRight(text[loc[4]:end], ".") // a final dot is punctuation
		end = loc[4] + len(id)
		if !slices.ContainsFunc(mentions, func(m string) bool { return shared.Fold(m) == shared.Fold(id) }) {
			continue
		}
		out = append(out, linkify(text[last:start])...)
		out = append(out, app.Span().Class("mention").Text(text[start:end]))
		last = end
	}
	return append(out, linkify(text[last:])...)
}

// linkify turns a message's text into text nodes and links. A link is an
// http or https URL that parses, opened in a new tab without a referrer
// or a handle on this page.
func linkify(text string) []app.UI {
	var out []app.UI
	last := 0
	for _, loc := range linkRe.FindAllStringIndex(text, -1) {
		href := strings.TrimRight(text[loc[0]:loc[1]], ".,;:!?)]}'")
		end := loc[0] + len(href)
		if u, err := url.Parse(href); err != nil || u.Host == "" {
			continue
		}
		if loc[0] > last {
			out = append(out, app.Text(text[last:loc[0]]))
		}
		out = append(out, app.A().Href(href).Target("_blank").Rel("noopener noreferrer").Text(href))
		last = end
	}
	if last < len(text) {
		out = append(out, app.Text(text[last:]))
	}
	return out
}
