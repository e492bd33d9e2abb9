// What both pages share: the Ask and Stop buttons, the answer's id in the URL (so a reload or a second
// tab reads the same answer), and the view. Each page passes its own way to read the stream:
// `read(id, view)` calls view.append(text) per piece and view.done() at the close.
export function startPage(read) {
  const out = document.getElementById('answer')
  const state = document.getElementById('state')
  const stop = document.getElementById('stop')
  const view = {
    append(text) {
      out.textContent += text
    },
    done() {
      state.textContent = 'done'
      stop.disabled = true
      window.answerDone = true
    },
  }
  const open = (id) => {
    out.textContent = ''
    stop.disabled = false
    state.textContent = 'streaming'
    read(id, view)
  }
  document.getElementById('ask').onclick = async () => {
    const { id } = await (await fetch('/ask', { method: 'POST' })).json()
    history.replaceState(null, '', `?answer=${id}`)
    open(id)
  }
  // Stop is not disconnect: ask the producer to stop; it closes the stream, and every reader ends.
  stop.onclick = () => {
    const id = new URL(location.href).searchParams.get('answer')
    if (id) fetch(`/stop/${id}`, { method: 'POST' })
  }
  const id = new URL(location.href).searchParams.get('answer')
  if (id) open(id)
}
