package app

import (
	"maps"
	"slices"
	"strings"

	"chatapp/shared"
)

// The composer's @ completion. Its candidates are the users this client
// knows: its people (the presence list and its changes), the other side
// of its direct conversations, and whoever wrote in the conversations it
// holds, those of the open conversation first.
//
// The seam for the directory: PROTOCOL.md 4.10's users request (being
// built on the server) finds accounts this client has never seen. When it
// lands, MentionQuery sends one for the query, its answer goes into a
// map of directory users beside m.people, and candidates reads that map
// with the others below; the View and the composer stay as they are.

// maxCandidates is how many users the completion list offers.
const maxCandidates = 8

// UserItem is a user the completion list offers.
type UserItem struct{ ID, Alias string }

// MentionQuery sets what follows the @ being typed; closed is true when
// no @ is being typed.
func (s *service) MentionQuery(q mentionForm) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.mentionQuery, s.m.mentionOpen = q.Query, q.Open
	s.changedLocked()
}

// mentionForm is the value of the mention action.
type mentionForm struct {
	Query string
	Open  bool
}

// candidates returns the users whose id or display name starts with q
// (in any case), the open conversation's writers first (newest first),
// then the others by id; never the user.
func (m *model) candidates(q string) []UserItem {
	q = shared.Fold(q)
	seen := map[string]bool{m.meKey(): true}
	var out []UserItem
	add := func(id string) {
		k := shared.Fold(id)
		if seen[k] || len(out) == maxCandidates {
			return
		}
		seen[k] = true
		if p, ok := m.people[k]; ok {
			id = p.ID
		}
		alias := m.alias(id)
		if strings.HasPrefix(k, q) || strings.HasPrefix(shared.Fold(alias), q) {
			out = append(out, UserItem{ID: id, Alias: alias})
		}
	}
	if t := m.convs[m.selected]; t != nil {
		for i := len(t.msgs) - 1; i >= 0; i-- {
			add(t.msgs[i].Sender)
		}
	}
	known := map[string]string{} // folded id → id
	for k, p := range m.people {
		known[k] = p.ID
	}
	for c := range m.meta {
		if c.kind == kindUser {
			known[c.key] = m.userID(c.key)
		}
	}
	for _, t := range m.convs {
		for i := range t.msgs {
			known[shared.Fold(t.msgs[i].Sender)] = t.msgs[i].Sender
		}
	}
	for _, k := range slices.Sorted(maps.Keys(known)) {
		add(known[k])
	}
	return out
}
