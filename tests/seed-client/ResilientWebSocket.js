class ResilientWebSocket {
constructor(url, options = {}) {
this.url = url;
this.options = {
max_retries: options.max_retries || 10,
initial_delay: options.initial_delay || 1000, // 1 second
max_delay: options.max_delay || 60000, // 60 seconds
...options
};
this.ws = null;
this.retry_count = 0;
this.retry_timeout = null;
this.message_buffer = []; // Messages sent while offline
this.message_handlers = [];
this.state = 'disconnected'; // disconnected, connecting, connected
}
async connect() {
if (this.state === 'connecting' || this.state === 'connected') {
return;
}
this.state = 'connecting';
try {
this.ws = new WebSocket(this.url);
this.ws.onopen = () => {
console.log('WebSocket connected');
this.state = 'connected';
this.retry_count = 0;
// Flush buffered messages
this._flush_buffer();
};
this.ws.onmessage = (event) => {
for (const handler of this.message_handlers) {
handler(JSON.parse(event.data));
}
};
this.ws.onerror = (error) => {
console.error('WebSocket error:', error);
};
this.ws.onclose = () => {
console.log('WebSocket closed');
this.state = 'disconnected';
this._schedule_reconnect();
};
} catch (error) {
console.error('Connection error:', error);
this._schedule_reconnect();
}
}
_schedule_reconnect() {
if (this.retry_count >= this.options.max_retries) {
console.error('Max retries reached');
return;
}
// Exponential backoff: delay = min(initial_delay * 2^retry_count, max_delay)
const delay = Math.min(
this.options.initial_delay * Math.pow(2, this.retry_count),
this.options.max_delay
);
console.log(`Reconnecting in ${delay}ms (attempt ${this.retry_count + 1})`);
this.retry_count += 1;
this.retry_timeout = setTimeout(() => this.connect(), delay);
}
send(message) {
if (this.state === 'connected') {
this.ws.send(JSON.stringify(message));
} else {
// Buffer message for later
this.message_buffer.push(message);
console.log(`Buffered message (${this.message_buffer.length} pending)`);
}
}
_flush_buffer() {
while (this.message_buffer.length > 0) {
const message = this.message_buffer.shift();
this.ws.send(JSON.stringify(message));
}
console.log('Message buffer flushed');
}
on_message(handler) {
this.message_handlers.push(handler);
}
close() {
this.state = 'disconnected';
if (this.retry_timeout) {
clearTimeout(this.retry_timeout);
}
if (this.ws) {
this.ws.close();
}
}
}
