package app

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"chatapp/shared"
)

// The conversation pane: its header (with the room's menu), the log
// (#log: the login card or the landing hint, #result and the outbox) and
// the composer.

func (s *Shell) renderPane(state string) app.UI {
	v := &s.view
	return app.Main().Class("pane").Body(
		app.Header().Class("pane-head").Body(
			app.Button().ID("menuButton").Class("icon-button menu").Type("button").
				Aria("label", s.t("menu")).Aria("expanded", s.navOpen).
				OnClick(s.onMenu).Body(
				app.Span().Class("burger").Aria("hidden", true),
				app.Span().Class("status-dot").DataSet("state", state).Aria("hidden", true),
			),
			app.Div().Class("pane-title").Body(
				app.H1().ID("convTitle").Text(v.Title),
				app.P().Class("pane-sub").Text(v.Subtitle),
			),
			slot(v.Room != nil && v.LoggedIn, s.renderRoomMenu),
		),
		slot(s.update, func() app.UI {
			return app.Div().ID("updateNotice").Class("banner").Role("status").Body(
				app.Span().Text(s.t("update")+" — "),
				app.Button().ID("updateButton").Class("chip strong").Type("button").
					Text(s.t("update.reload")).OnClick(s.onReload),
			)
		}),
		slot(s.dialog != dlgRoom, func() app.UI { return app.Div().Class("pane-notice").Body(s.notice("roomNotice", "room")) }),
		app.Div().
			ID("log").
			Class("log").
			TabIndex(0).
			Aria("label", s.t("log")).
			DataSet("history", v.History).
			Body(
				slot(!v.LoggedIn, s.renderLogin),
				slot(v.LoggedIn && v.Selected == everything, s.renderLanding),
				slot(v.NeedJoin, func() app.UI {
					return app.Div().Class("banner join").Body(
						app.Span().Text(s.t("room.join.hint")),
						app.Button().ID("joinHintButton").Class("chip strong").Type("button").
							Text(s.t("room.join")).OnClick(s.onRoomCommand(shared.RoomJoin, v.ToRecipient), app.EventScope(v.Selected)),
					)
				}),
				slot(v.LoggedIn && !v.NeedJoin, s.renderEdge),
				app.Div().ID("result").Class("messages").Aria("live", "polite").Body(
					app.Range(v.Messages).Slice(func(i int) app.UI { return s.renderMessage(v.Messages[i]) }),
				),
				app.Div().ID("outbox").Class("messages").Body(
					app.Range(v.Pending).Slice(func(i int) app.UI { return s.renderPending(v.Pending[i]) }),
				),
				slot(v.Newer, func() app.UI {
					return app.P().ID("newerEdge").Class("edge").DataSet("state", histLoading).Text(s.t("history.newer"))
				}),
				app.If(v.LoggedIn && v.History == histStart && len(v.Messages) == 0 && len(v.Pending) == 0 && !v.NeedJoin, func() app.UI {
					return app.P().Class("empty").Text(s.t("empty"))
				}),
			),
		s.renderComposer(),
	)
}

// renderEdge is the old end of the log: a spinner while a page loads,
// the start of the conversation once there is nothing older.
func (s *Shell) renderEdge() app.UI {
	v := &s.view
	text := ""
	switch {
	case v.History == histLoading:
		text = s.t("history.loading")
	case v.History == histStart && len(v.Messages) > 0:
		text = s.t("history.start")
	}
	return app.P().ID("historyEdge").Class("edge").DataSet("state", v.History).Hidden(text == "").Text(text)
}

// renderRoomMenu is the selected room's menu: rename and delete for its
// owner, leave or join. Its handlers name the room, so they are scoped by
// it and by the item: go-app reuses the menu's elements for the next room
// and for items that come and go.
func (s *Shell) renderRoomMenu() app.UI {
	r := s.view.Room
	item := func(id, key string, h app.EventHandler) app.UI {
		return app.Button().ID(id).Class("menu-item").Type("button").Text(s.t(key)).
			OnClick(func(ctx app.Context, e app.Event) { closeMenu(); h(ctx, e) }, app.EventScope(r.Conv, id))
	}
	return app.Details().ID("roomMenu").Class("room-menu").Body(
		app.Summary().ID("roomMenuButton").Class("chip").Text(s.t("room.menu")),
		app.Div().Class("menu-list").Body(
			app.If(r.Owned, func() app.UI { return item("menuRename", "room.rename", s.openRoomDialog(true)) }),
			app.If(r.Member, func() app.UI {
				return item("menuLeave", "room.leave", s.onRoomCommand(shared.RoomLeave, r.ID))
			}).Else(func() app.UI {
				return item("menuJoin", "room.join", s.onRoomCommand(shared.RoomJoin, r.ID))
			}),
			app.If(r.Owned, func() app.UI {
				return item("menuDelete", "room.delete.ask", s.askDelete(r.ID))
			}),
		),
	)
}

// closeMenu closes the room menu: the browser keeps a <details> open, and
// go-app reuses the element for the next room.
func closeMenu() {
	if app.IsClient {
		if m := app.Window().GetElementByID("roomMenu"); m.Truthy() {
			m.Set("open", false)
		}
	}
}

func (s *Shell) renderLogin() app.UI {
	field := func(id, typ, label, auto string, max int, optional bool) app.UI {
		in := app.Input().ID(id).Type(typ).Class("field").Attr("autocomplete", auto).
			OnKeyDown(s.onLoginKey)
		if max > 0 {
			in = in.MaxLength(max)
		}
		if id == "idInput" {
			in = in.Value(s.view.LastID).Spellcheck(false).Attr("autocapitalize", "none")
		}
		text := label
		if optional {
			text += " (" + s.t("optional") + ")"
		}
		return app.Label().Class("label").Body(app.Span().Text(text), in)
	}
	return app.Section().ID("login").Class("card login").Aria("labelledby", "loginTitle").Body(
		app.H2().ID("loginTitle").Text(s.t("login.title")),
		app.P().Class("lead").Text(s.t("login.lead")),
		app.Div().Class("grid").Body(
			field("idInput", "text", s.t("id"), "username", shared.MaxUserID, false),
			field("passwordInput", "password", s.t("password"), "current-password", shared.MaxPassword, false),
			field("aliasInput", "text", s.t("alias"), "nickname", shared.MaxAlias, true),
			field("todayInput", "text", s.t("today"), "off", shared.MaxToday, true),
		),
		app.Button().ID("loginButton").Class("primary").Type("button").Text(s.t("login")).OnClick(s.onLogin),
		s.notice("loginNotice", "login"),
	)
}

// renderLanding says what to do next in "All messages".
func (s *Shell) renderLanding() app.UI {
	return app.Section().ID("landing").Class("card landing").Aria("labelledby", "landingTitle").Body(
		app.H2().ID("landingTitle").Text(s.t("landing.title")),
		app.P().Class("lead").Text(s.t("landing.pick")),
		app.P().Class("lead phone-only").Text(s.t("landing.phone")),
	)
}

func (s *Shell) renderMessage(m MsgItem) app.UI {
	everything := s.view.Selected == everything
	return app.Article().
		Class("msg").
		DataSet("seq", m.Seq).
		DataSet("mine", m.Mine).
		DataSet("first", m.First).
		Body(
			app.If(m.Day != "", func() app.UI {
				return app.Div().Class("day").Role("separator").Body(app.Span().Text(m.Day))
			}),
			app.Div().Class("msg-row").Body(
				app.If(m.First, func() app.UI { return avatar(m.Alias) }),
				app.Div().Class("msg-body").Body(
					app.If(m.First, func() app.UI {
						return app.Div().Class("msg-meta").Body(
							app.Span().Class("msg-alias").Text(m.Alias),
							app.If(m.Alias != m.Sender, func() app.UI { return app.Span().Class("msg-id").Text("@" + m.Sender) }),
							app.If(m.Where != "", func() app.UI { return app.Span().Class("msg-where").Text(m.Where) }),
							app.Time().Class("msg-time").DateTime(m.Stamp).Title(m.Stamp).Text(m.Time),
						)
					}),
					app.P().Class("msg-text").Body(linkify(m.Text)...),
				),
				app.If(everything, func() app.UI {
					return app.Button().Class("chip reply").Type("button").
						Aria("label", trf(s.lang(), "reply.to", m.Alias, m.Where)).
						Text(s.t("reply")).
						OnClick(s.onReply(m.Seq), app.EventScope(m.Seq))
				}),
			),
		)
}

// linkRe finds web addresses in a message.
var linkRe = regexp.MustCompile(`https?://[^\s<>"]+`)

// linkify turns a message's text into text nodes and links. Every part is
// text to go-app (escaped, never markup); a link is an http or https URL
// that parses, opened in a new tab without a referrer or a handle on this
// page.
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

func (s *Shell) renderPending(p PendingItem) app.UI {
	me := s.view.Me.Alias
	if me == "" {
		me = s.view.Me.ID
	}
	return app.Article().
		Class("msg pending").
		DataSet("cid", p.CID).
		DataSet("mine", true).
		DataSet("first", true).
		Body(
			app.Div().Class("msg-row").Body(
				avatar(me),
				app.Div().Class("msg-body").Body(
					app.Div().Class("msg-meta").Body(
						app.Span().Class("msg-alias").Text(me),
						app.If(p.Where != "", func() app.UI { return app.Span().Class("msg-where").Text(p.Where) }),
						app.Span().Class("msg-time").Text(s.t("pending")),
					),
					app.P().Class("msg-text").Text(p.Text),
				),
			),
		)
}

// renderComposer is the composer: the reply chip, the collapsed address
// row (#recepientInput and #chattype follow the selected conversation;
// power users and tests may still type into them), the message box and
// its counter near the limit.
func (s *Shell) renderComposer() app.UI {
	v := &s.view
	to := s.value("recepientInput")
	if !app.IsClient && s.values == nil {
		to = v.ToRecipient
	}
	summary := s.t("address.none")
	if to != "" {
		summary = trf(s.lang(), "address.to", to)
	}
	over := s.draft > maxText
	return app.Footer().Class("composer").Aria("label", s.t("composer")).Body(
		slot(s.reply != nil, func() app.UI {
			return app.Div().ID("replyChip").Class("reply-chip").Body(
				app.Span().Text(trf(s.lang(), "reply.to", s.reply.Alias, s.reply.Where)),
				app.Button().ID("replyCancel").Class("chip").Type("button").
					Aria("label", s.t("reply.cancel")).Text("✕").OnClick(s.onReplyCancel),
			)
		}),
		app.Details().ID("addressRow").Class("address").Body(
			app.Summary().ID("addressSummary").Text(summary),
			app.Div().Class("composer-to").Body(
				app.Label().Class("inline").For("recepientInput").Text(s.t("recipient")),
				app.Input().ID("recepientInput").Type("text").Class("field").
					Value(v.ToRecipient).Placeholder(s.t("recipient.placeholder")).
					AutoComplete(false).Spellcheck(false).Attr("autocapitalize", "none").
					OnInput(s.onAddress),
				app.Select().ID("chattype").Class("field").Aria("label", s.t("chattype")).OnChange(s.onAddress).Body(
					app.Option().Value(shared.CommandChat).Text(s.t("chat")),
					app.Option().Value(shared.CommandGroupchat).Text(s.t("groupchat")),
				),
			),
		),
		app.Div().Class("composer-main").Body(
			app.Textarea().ID("dataInput").Class("field message").Rows(1).
				Placeholder(s.t("message.placeholder")).Aria("label", s.t("message")).Title(s.t("message.keys")).
				Attr("enterkeyhint", "send").Attr("autocomplete", "off").
				Aria("describedby", "charCount").
				OnInput(s.onDraft),
			app.Button().ID("sendButton").Class("primary").Type("button").
				Text(s.t("send")).OnClick(s.onSend),
		),
		app.Div().Class("composer-foot").Body(
			app.Span().ID("charCount").Class("count").
				DataSet("over", over).
				Hidden(s.draft < maxText*9/10).
				Text(strconv.Itoa(s.draft)+" / "+strconv.Itoa(maxText)),
			s.notice("sendNotice", "send"),
		),
	)
}

// onAddress re-renders the address summary after the fields were edited.
func (s *Shell) onAddress(ctx app.Context, _ app.Event) {}
