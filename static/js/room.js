// The room page's entry point. The page is split by feature under static/js/room/ (catalog,
// product and variant sheet, cart, checkout, chat, polls, stage, members, invites; app.js wires
// them to the connection); see docs/client.md.
import "./room/app.js";
