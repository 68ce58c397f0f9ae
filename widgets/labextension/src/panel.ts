import { Widget } from '@lumino/widgets';

import { post, requestAPI } from './api';
import {
  figuresView,
  filesUrl,
  IPlanFigures,
  IReport,
  IRenderState,
  IStep,
  LEVELS,
  problemText,
  progress,
  statusText,
  stepLabel
} from './model';

export interface IPlanSummary {
  plan: string;
  name: string;
  type: string;
  period: string;
  scope: string;
  steps: IStep[];
}

interface IHeadline {
  as_of: string;
  rows: { label: string; value: string }[];
}

/** The "Sales plan" side panel: the plan's steps with status, headline figures,
 * "Validate data" and "Render plans" with progress, failures and the index link. */
export class SalesPlanPanel extends Widget {
  plan: string | null = null;
  renderTop = 0;
  private timer = 0;
  private job: IRenderState | null = null;
  private readonly head = div('salesplan-plan-head');
  private readonly planSelect = document.createElement('select');
  private readonly stepList = document.createElement('ol');
  private readonly headline = div('salesplan-headline');
  private readonly figures = div('salesplan-figures');
  private figuresKey = '';
  private figuresSeq = 0;
  private figuresBusy = false;
  private readonly validation = div('salesplan-validation');
  private readonly renderBox = div('salesplan-render');
  private readonly bySelect = document.createElement('select');
  private readonly topInput = document.createElement('input');

  constructor(
    private readonly openPath: (path: string) => void,
    private readonly baseUrl: string
  ) {
    super();
    this.id = 'salesplan-panel';
    this.addClass('salesplan-panel');
    this.title.caption = 'Sales plan';
    const n = this.node;
    const title = document.createElement('h2');
    title.textContent = 'Sales plan';
    this.planSelect.className = 'salesplan-plan-select';
    this.planSelect.onchange = () => this.setPlan(this.planSelect.value || null);
    n.append(title, this.planSelect, this.head);
    this.stepList.className = 'salesplan-steps';
    n.append(section('Steps'), this.stepList, section('Plan figures'), this.figures);
    n.append(section('Headline'), this.headline);

    const validate = button('Validate data', 'salesplan-validate-button', () => void this.validate());
    n.append(section('Data'), validate, this.validation);

    for (const l of LEVELS) {
      const o = document.createElement('option');
      o.value = o.textContent = l;
      o.selected = l === 'territory';
      this.bySelect.appendChild(o);
    }
    this.bySelect.className = 'salesplan-render-by';
    this.topInput.type = 'number';
    this.topInput.min = '0';
    this.topInput.placeholder = 'all';
    this.topInput.className = 'salesplan-render-top';
    this.topInput.title = 'top N units by trailing bookings (blank: all)';
    const controls = div('salesplan-render-controls');
    const by = document.createElement('label');
    by.append('by ', this.bySelect);
    const top = document.createElement('label');
    top.append(' top ', this.topInput);
    controls.append(by, top, button('Render plans', 'salesplan-render-button', () => void this.render()));
    n.append(section('Render plans'), controls, this.renderBox);
  }

  /** Show ``plan`` (a plan folder relative to the Jupyter root). */
  setPlan(plan: string | null): void {
    if (plan !== this.plan) {
      this.plan = plan;
      this.job = null;
      this.renderBox.textContent = '';
      this.validation.textContent = '';
      this.headline.textContent = '';
      this.figures.textContent = '';
      this.figuresKey = '';
    }
    void this.refresh(true);
  }

  async refresh(withHeadline = false): Promise<void> {
    const { plans } = await requestAPI<{ plans: { path: string; name: string }[] }>('plans');
    this.planSelect.textContent = '';
    const none = document.createElement('option');
    none.value = '';
    none.textContent = plans.length ? '- choose a plan -' : 'no plan yet: File > New > Sales plan';
    this.planSelect.appendChild(none);
    for (const p of plans) {
      const o = document.createElement('option');
      o.value = p.path;
      o.textContent = `${p.name} (${p.path})`;
      this.planSelect.appendChild(o);
    }
    if (this.plan && !plans.some(p => p.path === this.plan)) {
      this.plan = null;
    }
    this.planSelect.value = this.plan ?? '';
    if (!this.plan) {
      this.head.textContent = '';
      this.stepList.textContent = '';
      return;
    }
    const s = await requestAPI<IPlanSummary>(`plan?path=${encodeURIComponent(this.plan)}`);
    this.head.textContent = `${s.name}: ${s.type} plan, ${s.period}, ${s.scope}`;
    this.showSteps(s.steps);
    // the plan figures again when a decision was recorded (or on a full refresh)
    const key = `${this.plan}|${s.steps.map(x => `${x.key}=${x.at ?? ''}`).join(',')}`;
    if (key !== this.figuresKey || (withHeadline && !this.figuresBusy)) {
      this.figuresKey = key;
      void this.loadFigures(this.plan);
    }
    if (withHeadline) {
      const h = await requestAPI<IHeadline>(`headline?path=${encodeURIComponent(this.plan)}`);
      this.headline.textContent = '';
      const t = document.createElement('table');
      for (const r of h.rows) {
        const tr = t.insertRow();
        tr.insertCell().textContent = r.label;
        tr.insertCell().textContent = r.value;
      }
      const note = div('salesplan-note');
      note.textContent = `data as of ${h.as_of}`;
      this.headline.append(t, note);
    }
  }

  /** Fetch and show the plan model's figures and biggest gap (computing them takes seconds:
   * an answer for an older request or another plan is dropped). */
  private async loadFigures(plan: string): Promise<void> {
    const seq = ++this.figuresSeq;
    if (!this.figures.firstChild) {
      this.figures.textContent = 'computing the plan figures...';
    }
    let f: IPlanFigures;
    this.figuresBusy = true;
    try {
      f = await requestAPI<IPlanFigures>(`figures?path=${encodeURIComponent(plan)}`);
    } catch (e) {
      if (seq === this.figuresSeq) {
        this.figures.textContent = `${e}`;
      }
      return;
    } finally {
      if (seq === this.figuresSeq) {
        this.figuresBusy = false;
      }
    }
    if (seq === this.figuresSeq && plan === this.plan) {
      this.showFigures(f);
    }
  }

  private showFigures(f: IPlanFigures): void {
    const v = figuresView(f);
    this.figures.textContent = '';
    if (v.gap) {
      const line = div('salesplan-gap');
      const text = document.createElement('span');
      text.className = 'salesplan-gap-text';
      text.textContent = v.gap.text;
      line.appendChild(text);
      if (v.gap.link) {
        const { label, path } = v.gap.link;
        const a = document.createElement('a');
        a.className = 'salesplan-gap-link';
        a.textContent = label;
        a.title = `open ${path}`;
        a.onclick = () => this.openPath(path);
        line.append(' ', a);
      }
      this.figures.appendChild(line);
    }
    if (v.rows.length) {
      const t = document.createElement('table');
      for (const [label, value] of v.rows) {
        const tr = t.insertRow();
        tr.insertCell().textContent = label;
        tr.insertCell().textContent = value;
      }
      this.figures.appendChild(t);
    }
    for (const n of v.notes) {
      const note = div('salesplan-note');
      note.textContent = n;
      this.figures.appendChild(note);
    }
  }

  private showSteps(steps: IStep[]): void {
    this.stepList.textContent = '';
    for (const s of steps) {
      const li = document.createElement('li');
      li.className = 'salesplan-step';
      li.dataset.status = s.status;
      li.dataset.key = s.key;
      const num = div('salesplan-step-number');
      num.textContent = stepLabel(s);
      const body = div('salesplan-step-body');
      const name = document.createElement('a');
      name.className = 'salesplan-step-title';
      name.textContent = s.title;
      name.title = s.path ? `open ${s.path}` : `${s.notebook} is not in this plan folder`;
      if (s.path) {
        const path = s.path;
        name.onclick = () => this.openPath(path);
      }
      const status = div('salesplan-step-status');
      status.textContent = statusText(s);
      body.append(name, status);
      li.append(num, body);
      this.stepList.appendChild(li);
    }
  }

  async validate(): Promise<void> {
    if (!this.plan) {
      this.validation.textContent = 'Choose a plan first.';
      return;
    }
    this.validation.textContent = 'validating...';
    try {
      const r = await post<IReport>('validate', { plan: this.plan });
      this.showReport(r);
    } catch (e) {
      this.validation.textContent = `${e}`;
    }
  }

  private showReport(r: IReport): void {
    this.validation.textContent = '';
    const p = div(r.ok ? 'salesplan-ok' : 'salesplan-error');
    p.textContent = `${r.source}: ${r.errors} error(s), ${r.warnings} warning(s) - ${r.ok ? 'loadable' : 'NOT loadable'}`;
    const ul = document.createElement('ul');
    for (const prob of r.problems) {
      const li = document.createElement('li');
      li.className = 'salesplan-problem';
      li.textContent = problemText(prob);
      ul.appendChild(li);
    }
    this.validation.append(p, ul);
  }

  async render(): Promise<void> {
    if (!this.plan) {
      this.renderBox.textContent = 'Choose a plan first.';
      return;
    }
    const top = parseInt(this.topInput.value, 10) || this.renderTop || null;
    this.renderBox.textContent = 'starting...';
    try {
      this.job = await post<IRenderState>('render', { plan: this.plan, by: this.bySelect.value, top });
    } catch (e) {
      this.renderBox.textContent = `${e}`;
      return;
    }
    this.showJob();
    this.poll();
  }

  private poll(): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(async () => {
      if (!this.job) {
        return;
      }
      try {
        this.job = await requestAPI<IRenderState>(`render/${this.job.id}`);
      } catch (e) {
        this.renderBox.textContent = `${e}`;
        return;
      }
      this.showJob();
      if (this.job.status === 'running') {
        this.poll();
      }
    }, 1000);
  }

  private showJob(): void {
    const j = this.job;
    if (!j) {
      return;
    }
    const { text, percent } = progress(j);
    this.renderBox.textContent = '';
    const bar = document.createElement('progress');
    bar.max = 100;
    bar.value = percent;
    const line = div('salesplan-progress-text');
    line.textContent = text;
    this.renderBox.append(bar, line);
    this.renderBox.dataset.status = j.status;
    if (j.failures.length) {
      const ul = document.createElement('ul');
      ul.className = 'salesplan-failures';
      for (const f of j.failures) {
        const li = document.createElement('li');
        li.textContent = `${f.unit}: ${f.error}`;
        ul.appendChild(li);
      }
      this.renderBox.appendChild(ul);
    }
    if (j.status !== 'running' && !j.index && j.message) {
      const m = div('salesplan-error');
      m.textContent = j.message;
      this.renderBox.appendChild(m);
    }
    if (j.index) {
      const a = document.createElement('a');
      a.className = 'salesplan-index-link';
      a.href = filesUrl(this.baseUrl, j.index);
      a.target = '_blank';
      a.rel = 'noopener';
      a.textContent = `Open the index (${j.ok} plans) in a new tab`;
      this.renderBox.appendChild(a);
    }
  }

  protected onAfterShow(): void {
    void this.refresh(true);
  }

  dispose(): void {
    window.clearTimeout(this.timer);
    super.dispose();
  }
}

function div(cls: string): HTMLDivElement {
  const d = document.createElement('div');
  d.className = cls;
  return d;
}

function section(text: string): HTMLElement {
  const h = document.createElement('h3');
  h.textContent = text;
  return h;
}

function button(label: string, cls: string, onclick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.className = `jp-mod-styled jp-mod-accept ${cls}`;
  b.textContent = label;
  b.onclick = onclick;
  return b;
}
