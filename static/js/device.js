// This browser's guest identity: one random device secret, made once and kept in localStorage
// under the same key the join page uses (static/js/join.js), so the browser that joined a room,
// started one from a shop or lists "Your rooms" is one and the same guest. Only a hash of it
// ever reaches the server's storage (server/identity.py).

const DEVICE_KEY = "coshop.device";
const VALID = /^[A-Za-z0-9_-]{32,128}$/;

/** The device secret, made on first use; null when storage is blocked. */
export function deviceSecret() {
  try {
    let secret = localStorage.getItem(DEVICE_KEY);
    if (!secret || !VALID.test(secret)) {
      const bytes = crypto.getRandomValues(new Uint8Array(32));
      secret = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      localStorage.setItem(DEVICE_KEY, secret);
    }
    return secret;
  } catch {
    return null;
  }
}

/** The device secret if this browser already has one (never makes one); null otherwise. */
export function existingDevice() {
  try {
    const secret = localStorage.getItem(DEVICE_KEY);
    return secret && VALID.test(secret) ? secret : null;
  } catch {
    return null;
  }
}

/** Keep the manage link a create response carries for the room page to show once. */
export function keepManageUrl(room) {
  if (!room || typeof room.manage_url !== "string" || !room.manage_url) return;
  try { sessionStorage.setItem(`coshop:manage:${room.room_id}`, room.manage_url); } catch { /* blocked */ }
}
