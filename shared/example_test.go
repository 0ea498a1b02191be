package shared_test

import (
	"fmt"

	"chatapp/shared"
)

func ExampleDecodePacket() {
	// A WebSocket text frame `42/admin,13["news",1]` is an Engine.IO message
	// ('4') that carries a Socket.IO packet.
	frame := []byte(`42/admin,13["news",1]`)
	p, err := shared.DecodePacket(frame[1:])
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Type, p.Nsp, p.ID, string(p.Data))

	name, args, _ := shared.EventArgs(p.Data)
	fmt.Println(name, len(args), string(args[0]))

	_, err = shared.DecodePacket([]byte(`2{}`))
	fmt.Println(err)
	// Output:
	// EVENT /admin 13 ["news",1]
	// news 1 1
	// shared: invalid socket.io packet: invalid payload for packet type
}

func ExampleAppendPacket() {
	p := shared.Packet{Type: shared.PacketConnect, Nsp: "/custom", ID: -1, Data: []byte(`{"sid":"K"}`)}
	frame := shared.AppendPacket([]byte{shared.EIOMessage}, p)
	fmt.Println(string(frame))
	// Output: 40/custom,{"sid":"K"}
}

func ExampleEventFrame() {
	frame, _ := shared.EventFrame(shared.EventResponse, shared.Response{Command: "login", Code: shared.CodeOK, Message: "<ok>"})
	fmt.Println(string(frame))
	ack, _ := shared.AckFrame(5, shared.Response{Command: "login", Code: shared.CodeOK})
	fmt.Println(string(ack))
	// Output:
	// 42["response",{"command":"login","code":"200","message":"<ok>"}]
	// 435[{"command":"login","code":"200","message":""}]
}
