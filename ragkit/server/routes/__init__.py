"""The server's routes, by job: reading (search, ask, documents), writing (index, upload, delete),
jobs (the write jobs' state) and static (the web page, health). Each module builds an ``APIRouter``
on the app's :class:`ragkit.server.state.ServerState`."""
