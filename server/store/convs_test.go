package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"chatapp/shared"
)

// convModel is the conversations list computed the slow way, from every
// event: what Conversations must agree with.
type convModel struct {
	events map[Conv][]modelEvent
	read   map[ownKey]shared.Seq
}

type modelEvent struct {
	seq      shared.Seq
	message  bool
	sender   string // folded
	deleted  bool
	mentions []string // folded, the sender aside
}

func (m *convModel) add(c Conv, e modelEvent) {
	m.events[c] = append(m.events[c], e)
}

func (m *convModel) message(seq shared.Seq) *modelEvent {
	for _, es := range m.events {
		for i := range es {
			if es[i].seq == seq && es[i].message {
				return &es[i]
			}
		}
	}
	return nil
}

func (m *convModel) want(user string, c Conv) shared.Conversation {
	read := m.read[ownKey{user, c}]
	w := shared.Conversation{Command: c.Command(), Read: read}
	for _, e := range m.events[c] {
		w.Last = e.seq
		if e.seq <= read || !e.message || e.deleted || e.sender == user {
			continue
		}
		w.Unread++
		if slices.Contains(e.mentions, user) {
			w.Mentions++
		}
	}
	w.Unread, w.Mentions = min(w.Unread, shared.MaxUnread), min(w.Mentions, shared.MaxUnread)
	return w
}

// TestConversationsAgreeWithEvents: after a random mix of messages,
// edits, deletions, reactions and read marks, every user's conversations
// list says what counting the events one by one says.
func TestConversationsAgreeWithEvents(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	users := []string{"u0", "U1", "u2", "u3"}
	mustUser(t, s, users...)
	mustRoom(t, s, "r0", "u0", "U1", "u2", "u3")
	mustRoom(t, s, "R1", "U1", "u2")
	mustRoom(t, s, "empty", "u3")
	members := map[Conv][]string{RoomConv("r0"): {"u0", "u1", "u2", "u3"}, RoomConv("r1"): {"u1", "u2"}, RoomConv("empty"): {"u3"}}
	m := &convModel{events: map[Conv][]modelEvent{}, read: map[ownKey]shared.Seq{}}
	rng := rand.New(rand.NewPCG(7, 11))
	var live []shared.Seq
	for range 600 {
		from := users[rng.IntN(len(users))]
		fk := shared.Fold(from)
		switch op := rng.IntN(20); {
		case op < 10: // a message, sometimes mentioning
			var msg shared.Message
			switch k := rng.IntN(4); k {
			case 0:
				msg = chat(from, "ALL", "all")
			case 1:
				msg = chat(from, users[rng.IntN(len(users))], "dm")
			default:
				r := []string{"r0", "R1"}[rng.IntN(2)]
				if !slices.Contains(members[RoomConv(r)], fk) {
					continue
				}
				msg = group(from, r, "room")
			}
			c := ConvOf(msg.Command, msg.Sender, msg.Recipient)
			var ms []string
			if !c.IsDirect() && rng.IntN(3) == 0 {
				msg.Mentions = []string{users[rng.IntN(len(users))], users[rng.IntN(len(users))]}
				if msg.Mentions[0] == msg.Mentions[1] {
					msg.Mentions = msg.Mentions[:1]
				}
				for _, id := range msg.Mentions {
					if k := shared.Fold(id); k != fk {
						ms = append(ms, k)
					}
				}
			}
			got := mustAppend(t, s, msg)
			m.add(c, modelEvent{seq: got.Seq, message: true, sender: fk, mentions: ms})
			live = append(live, got.Seq)
		case op < 16 && len(live) > 0: // a change of a live message, by its sender
			ref := live[rng.IntN(len(live))]
			orig, c, err := s.Event(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			e := m.message(ref)
			cmd := []string{"edit", "delete", "react"}[rng.IntN(3)]
			ch := change(cmd, orig.Sender, ref, "👍")
			if cmd == "edit" && !c.IsDirect() {
				ch.Data = "edited"
				ch.Mentions = []string{users[rng.IntN(len(users))]}
			}
			got := mustAppend(t, s, ch)
			switch cmd { // before add, which may move e
			case "edit":
				e.mentions = nil
				for _, id := range ch.Mentions {
					if k := shared.Fold(id); k != e.sender {
						e.mentions = append(e.mentions, k)
					}
				}
			case "delete":
				e.deleted, e.mentions = true, nil
				live = slices.DeleteFunc(live, func(s shared.Seq) bool { return s == ref })
			}
			m.add(c, modelEvent{seq: got.Seq})
		default: // a read mark at some event of a conversation the user sees
			var convs []Conv
			for c := range m.events {
				if k, room := c.RoomKey(); c.Has(fk) || room && slices.Contains(members[RoomConv(k)], fk) {
					convs = append(convs, c)
				}
			}
			if len(convs) == 0 {
				continue
			}
			slices.Sort(convs)
			c := convs[rng.IntN(len(convs))]
			es := m.events[c]
			seq := es[rng.IntN(len(es))].seq
			moved, err := s.SetRead(ctx, from, c, seq)
			if err != nil {
				t.Fatal(err)
			}
			k := ownKey{fk, c}
			if want := seq > m.read[k]; moved != want {
				t.Fatalf("SetRead %s %s %d: moved %v, mark was %d", from, c, seq, moved, m.read[k])
			}
			if moved {
				m.read[k] = seq
			}
		}
	}
	for _, u := range users {
		convs, offset, err := s.Conversations(ctx, u, shared.MaxConversations)
		if err != nil {
			t.Fatal(err)
		}
		uk := shared.Fold(u)
		seen := map[Conv]bool{}
		var newest shared.Seq
		for i, got := range convs {
			var c Conv
			switch {
			case got.Target == shared.All:
				c = ConvAll
			case got.Command == shared.CommandGroupchat:
				c = RoomConv(got.Target)
			default:
				c = DirectConv(u, got.Target)
			}
			seen[c] = true
			w := m.want(uk, c)
			w.Target = got.Target
			if got != w {
				t.Errorf("%s, %s: %+v, want %+v", u, c, got, w)
			}
			if i > 0 && got.Last > convs[i-1].Last {
				t.Errorf("%s: not newest first at %d", u, i)
			}
			newest = max(newest, got.Last)
		}
		if offset != newest {
			t.Errorf("%s: offset %d, newest %d", u, offset, newest)
		}
		for c := range m.events {
			k, room := c.RoomKey()
			if sees := c.Has(uk) || room && slices.Contains(members[RoomConv(k)], uk); sees != seen[c] {
				t.Errorf("%s: conversation %s listed %v, sees %v", u, c, seen[c], sees)
			}
		}
		if slices.Contains(members[RoomConv("empty")], uk) != seen[RoomConv("empty")] {
			t.Errorf("%s: the empty room listed %v", u, seen[RoomConv("empty")])
		}
	}
}

// TestConversationsEdges: the list's fixed points: ALL always, a joined
// room without events, a direct conversation under the other's display
// id, notes to self, the cap, and what a read mark refuses.
func TestConversationsEdges(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	mustUser(t, s, "Amy", "bob")
	convs, offset, err := s.Conversations(ctx, "amy", 10)
	if err != nil || offset != 0 || !slices.Equal(convs, []shared.Conversation{{Target: "ALL", Command: "chat"}}) {
		t.Fatalf("a new user's list %+v %d %v", convs, offset, err)
	}
	mustRoom(t, s, "Quiet", "amy")
	m := mustAppend(t, s, chat("bob", "Amy", "hi"))
	self := mustAppend(t, s, chat("Amy", "Amy", "note"))
	convs, offset, _ = s.Conversations(ctx, "AMY", 10)
	want := []shared.Conversation{
		{Target: "Amy", Command: "chat", Last: self.Seq},
		{Target: "bob", Command: "chat", Last: m.Seq, Unread: 1},
		{Target: "ALL", Command: "chat"},
		{Target: "Quiet", Command: "groupchat"},
	}
	if !slices.Equal(convs, want) || offset != self.Seq {
		t.Fatalf("list %+v offset %d\nwant %+v", convs, offset, want)
	}
	if convs, _, _ = s.Conversations(ctx, "amy", 2); len(convs) != 2 || convs[1].Target != "bob" {
		t.Fatalf("capped %+v", convs)
	}
	// Read marks: only an event of the conversation.
	for _, tt := range []struct {
		c   Conv
		seq shared.Seq
	}{{ConvAll, m.Seq}, {DirectConv("amy", "bob"), self.Seq}, {DirectConv("amy", "bob"), 0}, {DirectConv("amy", "bob"), 999}} {
		if _, err := s.SetRead(ctx, "amy", tt.c, tt.seq); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetRead %s %d: %v", tt.c, tt.seq, err)
		}
	}
	// A mark at a change counts the messages up to it; more than 999
	// unread show as 999.
	c := mustAppend(t, s, change("react", "amy", m.Seq, "👍"))
	if moved, err := s.SetRead(ctx, "amy", DirectConv("amy", "bob"), c.Seq); !moved || err != nil {
		t.Fatal(moved, err)
	}
	for i := range 1001 {
		mustAppend(t, s, chat("bob", "amy", fmt.Sprint(i)))
	}
	convs, _, _ = s.Conversations(ctx, "amy", 10)
	if convs[0].Target != "bob" || convs[0].Unread != shared.MaxUnread || convs[0].Read != c.Seq {
		t.Fatalf("%+v", convs[0])
	}
}
