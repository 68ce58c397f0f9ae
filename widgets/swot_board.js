// SWOT board (anywidget front-end module): four quadrants; accept, reject, edit and add items.
// State comes from the Python side (`items`, `quadrants`); every action is sent to Python as a
// custom message ({action, id, quadrant, text}), which saves it in plan.yaml and sends back the
// new `items`. Text from data is set with textContent only (never parsed as HTML).

function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function render({ model, el }) {
  const root = h("div", "salesplan-swot");
  el.appendChild(root);

  function draw() {
    root.replaceChildren();
    const items = model.get("items") || [];
    for (const q of model.get("quadrants") || []) {
      const box = h("section", `swot-quadrant swot-${q}`);
      box.dataset.quadrant = q;
      box.appendChild(h("h5", "swot-title", q.charAt(0).toUpperCase() + q.slice(1)));
      const list = h("ul", "swot-items");
      for (const it of items.filter((i) => i.quadrant === q)) {
        const li = h("li", `swot-item swot-${it.status}`);
        li.dataset.id = it.id;
        const text = h("span", "swot-text", it.text);
        text.title = it.evidence || "";
        li.appendChild(text);
        li.appendChild(h("span", "swot-badge", it.status));
        const tools = h("span", "swot-tools");
        const act = (label, action, extra) => {
          const b = h("button", `swot-${action}`, label);
          b.type = "button";
          b.addEventListener("click", () => model.send({ action, id: it.id, ...(extra ? extra() : {}) }));
          tools.appendChild(b);
        };
        if (it.status !== "accepted" && it.status !== "edited") act("Accept", "accept");
        if (it.status !== "rejected") act("Reject", "reject");
        const edit = h("button", "swot-edit", "Edit");
        edit.type = "button";
        edit.addEventListener("click", () => {
          const input = h("input", "swot-edit-input");
          input.value = it.text;
          const save = h("button", "swot-save", "Save");
          save.type = "button";
          save.addEventListener("click", () => model.send({ action: "edit", id: it.id, text: input.value }));
          input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") save.click(); });
          text.replaceWith(input);
          edit.replaceWith(save);
          input.focus();
        });
        tools.appendChild(edit);
        li.appendChild(tools);
        list.appendChild(li);
      }
      box.appendChild(list);
      const form = h("div", "swot-add");
      const input = h("input", "swot-add-input");
      input.placeholder = `Add to ${q}...`;
      const add = h("button", "swot-add-button", "Add");
      add.type = "button";
      add.addEventListener("click", () => {
        const text = input.value.trim();
        if (text) model.send({ action: "add", quadrant: q, text });
      });
      input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") add.click(); });
      form.append(input, add);
      box.appendChild(form);
      root.appendChild(box);
    }
    const msg = model.get("message");
    if (msg) root.appendChild(h("div", "swot-message", msg));
  }

  draw();
  model.on("change:items", draw);
  model.on("change:message", draw);
  return () => { model.off("change:items", draw); model.off("change:message", draw); };
}

export default { render };
