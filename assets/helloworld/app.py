"""The workshop's hello-world web app: greets NAME (or the world) and says which host,
that is which container, answered."""
import os
import socket

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    name = os.environ.get("NAME", "world")
    return f"<h3>Hello {name}!</h3><b>Hostname:</b> {socket.gethostname()}<br/>"


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=80)
