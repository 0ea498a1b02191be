package app

import (
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"chatapp/shared"
)

// The sidebar: connection state, language and settings, the user, and the
// conversations (All messages, Everyone, rooms, people).

func (s *Shell) renderSidebar(state string) app.UI {
	v := &s.view
	return app.Aside().
		Class("sidebar").
		Aria("label", s.t("menu")).
		Body(
			app.Header().Class("side-head").Body(
				app.Div().Class("brand").Body(
					app.Img().Class("logo").Src("/web/icon.svg").Role("presentation"),
					app.Span().Text(s.t("title")),
				),
				app.Span().
					ID("status").
					Class("status").
					DataSet("state", state).
					DataSet("net", map[bool]string{true: "offline", false: "online"}[v.NetDown]).
					Role("status").
					Title(v.ConnWhy.text(s.lang())).
					Text(s.t("state."+state)),
			),
			app.Div().Class("side-tools").Body(
				app.Button().
					ID("langButton").
					Class("chip").
					Type("button").
					Lang(map[string]string{langEN: langKO, langKO: langEN}[s.lang()]).
					Text(s.t("lang.switch")).
					OnClick(s.onLang),
				app.Button().ID("settingsButton").Class("chip").Type("button").
					Text(s.t("settings")).OnClick(s.openDialog(dlgSettings)),
				app.If(s.notifyPerm != "" && s.notifyPerm != string(app.NotificationNotSupported), s.renderNotifySwitch),
				app.If(s.installable, func() app.UI {
					return app.Button().ID("installButton").Class("chip").Type("button").
						Text(s.t("install")).OnClick(s.onInstall)
				}),
			),
			slot(v.LoggedIn, s.renderMe),
			app.Nav().Class("convs").Aria("label", s.t("menu")).Body(
				app.Ul().Class("list").Body(
					app.Li().Body(s.convButton("convEverything", everything, s.t("everything"), Counts{})),
					app.Li().Body(s.convButton("convAll", allConv, s.t("everyone"), v.All)),
				),
				s.renderRooms(),
				s.renderPeople(),
			),
		)
}

func (s *Shell) renderMe() app.UI {
	me := s.view.Me
	name := me.Alias
	if name == "" {
		name = me.ID
	}
	return app.Section().Class("me").Aria("label", s.t("you")).Body(
		avatar(name),
		app.Div().Class("me-text").Body(
			app.Div().ID("meName").Class("me-name").Text(name),
			app.Div().Class("me-sub").Text("@"+me.ID+ifNotEmpty(" · ", me.Today)),
		),
		app.Button().ID("profileButton").Class("chip").Type("button").
			Text(s.t("profile.edit")).OnClick(s.openDialog(dlgProfile)),
		app.Button().ID("logoutButton").Class("chip").Type("button").
			Text(s.t("logout")).OnClick(func(ctx app.Context, _ app.Event) { post(ctx, actionLogout, struct{}{}) }),
	)
}

// avatar is a round badge with the first letter of name.
func avatar(name string) app.UI {
	letter := "?"
	for _, r := range name {
		letter = strings.ToUpper(string(r))
		break
	}
	hue := 0
	for _, r := range name {
		hue = (hue*31 + int(r)) % 360
	}
	return app.Span().
		Class("avatar").
		Style("--hue", strconv.Itoa(hue)).
		Aria("hidden", true).
		Text(letter)
}

func (s *Shell) convButton(id string, c conv, label string, n Counts) app.UI {
	return app.Button().
		ID(id).
		Class("conv").
		Type("button").
		DataSet("conv", c).
		DataSet("selected", s.view.Selected == c).
		DataSet("unread", n.Unread > 0).
		Aria("current", s.view.Selected == c).
		OnClick(s.onSelect(c), app.EventScope(c)).
		Body(
			app.Span().Class("conv-name").Text(label),
			s.badges(n),
		)
}

// badges are a conversation's unread count and, in bold, the mentions of
// the user among them. Their meaning is in words for screen readers.
func (s *Shell) badges(n Counts) app.UI {
	return app.If(n.Unread > 0, func() app.UI {
		return app.Span().Class("badges").Body(
			app.If(n.Mentions > 0, func() app.UI {
				return app.Span().Class("mention-mark").Title(trf(s.lang(), "mentions.n", strconv.Itoa(n.Mentions))).Body(
					app.Span().Aria("hidden", true).Text("@"),
					app.Span().Class("sr-only").Text(trf(s.lang(), "mentions.n", strconv.Itoa(n.Mentions))),
				)
			}),
			app.Span().Class("badge").Text(strconv.Itoa(n.Unread)),
			app.Span().Class("sr-only").Text(" "+s.t("unread")),
		)
	})
}

func (s *Shell) renderRooms() app.UI {
	v := &s.view
	joined := 0
	for _, r := range v.Rooms {
		if r.Member {
			joined++
		}
	}
	return app.Section().Class("group").Aria("labelledby", "roomsHeading").Body(
		app.Div().Class("group-head").Body(
			app.H2().ID("roomsHeading").Class("group-title").Text(s.t("rooms")),
			app.Button().ID("newRoomButton").Class("chip").Type("button").
				Text(s.t("room.new")).OnClick(s.openRoomDialog(false)),
		),
		app.Ul().ID("roomList").Class("list").Body(
			app.Range(v.Rooms).Slice(func(i int) app.UI {
				r := v.Rooms[i]
				return app.Li().
					Class("room").
					DataSet("room-id", r.ID).
					DataSet("member", r.Member).
					DataSet("first-other", !r.Member && i == joined).
					DataSet("selected", v.Selected == r.Conv).
					Body(
						app.Button().Class("conv").Type("button").
							DataSet("unread", r.Unread > 0).
							Aria("current", v.Selected == r.Conv).
							OnClick(s.onSelect(r.Conv), app.EventScope(r.Conv)).Body(
							app.Span().Class("hash").Aria("hidden", true).Text("#"),
							app.Span().Class("conv-name").Text(r.Name),
							app.Span().Class("conv-sub").Text(r.ID+ifNotEmpty(" · ", joinedLabel(s.lang(), r))),
							app.Span().
								Class("members").
								Title(members(s.lang(), r.Members)).
								Text(strconv.Itoa(r.Members)),
							s.badges(r.Counts),
						),
						app.If(!r.Member && v.LoggedIn, func() app.UI {
							return app.Button().Class("chip join").Type("button").
								Aria("label", trf(s.lang(), "room.join.named", r.Name)).
								Text(s.t("room.join")).
								OnClick(s.onRoomCommand(shared.RoomJoin, r.ID), app.EventScope(r.Conv))
						}),
					)
			}),
		),
		app.P().Class("hint").Hidden(len(v.Rooms) > 0).Text(s.t("no.rooms")),
	)
}

func joinedLabel(lang string, r RoomItem) string {
	switch {
	case r.Owned:
		return tr(lang, "owner")
	case r.Member:
		return tr(lang, "joined")
	}
	return tr(lang, "room.to.join")
}

func (s *Shell) renderPeople() app.UI {
	v := &s.view
	online := 0
	for _, p := range v.People {
		if p.Presence == "online" {
			online++
		}
	}
	count := strconv.Itoa(online) + " / " + strconv.Itoa(len(v.People))
	if v.State != stateConnected {
		count = strconv.Itoa(len(v.People))
	}
	return app.Section().Class("group").Aria("labelledby", "peopleHeading").Body(
		app.Div().Class("group-head").Body(
			app.H2().ID("peopleHeading").Class("group-title").Text(s.t("people")),
			app.Span().Class("count").Text(count),
		),
		app.Ul().ID("peopleList").Class("list").Body(
			app.Range(v.People).Slice(func(i int) app.UI {
				p := v.People[i]
				name := p.Alias
				if name == "" {
					name = p.ID
				}
				sub := "@" + p.ID
				if p.Me {
					sub += " · " + s.t("you")
				}
				return app.Li().
					Class("person").
					DataSet("user-id", p.ID).
					DataSet("online", onlineAttr[p.Presence]).
					DataSet("selected", v.Selected == p.Conv).
					Body(
						app.Button().Class("conv").Type("button").
							DataSet("unread", p.Unread > 0).
							Aria("current", v.Selected == p.Conv).
							OnClick(s.onSelect(p.Conv), app.EventScope(p.Conv)).Body(
							avatar(name),
							app.Span().Class("conv-name").Text(name),
							app.Span().Class("conv-sub").Text(sub+ifNotEmpty(" · ", p.Today)),
							app.Span().Class("presence").Text(s.t(p.Presence)),
							s.badges(p.Counts),
						),
					)
			}),
		),
		app.If(len(v.People) == 0, func() app.UI { return app.P().Class("hint").Text(s.t("no.people")) }),
	)
}

// onlineAttr is data-online of a person: "true" and "false" as the first
// UI had it, "unknown" while the client is not connected.
var onlineAttr = map[string]string{"online": "true", "offline": "false", "unknown": "unknown"}

// renderNotifySwitch turns browser notifications on and off. Turning them
// on asks the browser's permission, on this click and never before.
func (s *Shell) renderNotifySwitch() app.UI {
	on := s.view.Notify && s.notifyPerm == string(app.NotificationGranted)
	title := s.t("notify.hint")
	if s.notifyPerm == string(app.NotificationDenied) {
		title = s.t("notify.blocked")
	}
	return app.Button().ID("notifyButton").Class("chip").Type("button").
		Aria("pressed", on).Title(title).
		Disabled(s.notifyPerm == string(app.NotificationDenied)).
		Text(s.t(map[bool]string{true: "notify.on", false: "notify.off"}[on])).
		OnClick(s.onNotify)
}

func (s *Shell) onNotify(ctx app.Context, _ app.Event) {
	if s.view.Notify && s.notifyPerm == string(app.NotificationGranted) {
		post(ctx, actionNotify, false)
		return
	}
	if s.notifyPerm == string(app.NotificationGranted) {
		post(ctx, actionNotify, true)
		return
	}
	// The browser asks the person; the answer comes as a promise, which
	// this goroutine waits for off the UI goroutine.
	ctx.Async(func() {
		p := ctx.Notifications().RequestPermission()
		ctx.Dispatch(func(ctx app.Context) {
			s.notifyPerm = string(p)
			if p == app.NotificationGranted {
				post(ctx, actionNotify, true)
			}
		})
	})
}
