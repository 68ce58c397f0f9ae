import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { INewPlanForm, IReport, PLAN_TYPES, problemText } from './model';

/** The body of the "New sales plan" dialog: the form, and the validation report of the last
 * attempt (shown when the data did not load). */
export class NewPlanBody extends Widget {
  constructor(form: INewPlanForm, presets: string[], report: IReport | null, errors: string[]) {
    super({ node: document.createElement('form') });
    this.addClass('salesplan-dialog');
    const n = this.node;
    n.appendChild(row('Folder', input('folder', form.folder, 'plans/2027')));
    const type = document.createElement('select');
    type.name = 'type';
    for (const t of PLAN_TYPES) {
      const o = document.createElement('option');
      o.value = o.textContent = t;
      o.selected = t === form.type;
      type.appendChild(o);
    }
    n.appendChild(row('Plan type', type));
    n.appendChild(row('Period', input('period', form.period, 'blank: the year after the data')));
    n.appendChild(row('Scope', input('scope', form.scope, 'company, region:East, territory:T01')));
    const kinds = document.createElement('div');
    kinds.className = 'salesplan-kinds';
    for (const [value, label] of [
      ['sample', 'Sample company'],
      ['source', 'My data: a folder, workbook or SQL URL']
    ]) {
      const l = document.createElement('label');
      const r = document.createElement('input');
      r.type = 'radio';
      r.name = 'kind';
      r.value = value;
      r.checked = form.kind === value;
      l.append(r, ' ' + label);
      if (value === 'sample') {
        const size = document.createElement('select');
        size.name = 'sampleSize';
        for (const [v, text] of [
          ['full', '2,000 accounts, 30,000 opportunities, 60 reps'],
          ['small', 'small: 400 accounts, 6,000 opportunities (a quick tour)']
        ]) {
          const o = document.createElement('option');
          o.value = v;
          o.textContent = text;
          o.selected = form.sampleSize === v;
          size.appendChild(o);
        }
        l.append(' ', size);
      }
      kinds.appendChild(l);
    }
    n.appendChild(row('Data', kinds));
    n.appendChild(row('Source', input('source', form.source, 'data/crm, crm.xlsx, postgresql://...')));
    const mapping = input('mapping', form.mapping, 'preset (maven-crm, salesforce, ...) or mapping.yaml');
    const list = document.createElement('datalist');
    list.id = 'salesplan-presets';
    for (const p of presets) {
      const o = document.createElement('option');
      o.value = p;
      list.appendChild(o);
    }
    mapping.setAttribute('list', list.id);
    n.appendChild(row('Mapping', mapping));
    n.appendChild(list);
    if (errors.length || report) {
      const box = document.createElement('div');
      box.className = 'salesplan-report';
      for (const e of errors) {
        const p = document.createElement('p');
        p.className = 'salesplan-error';
        p.textContent = e;
        box.appendChild(p);
      }
      if (report) {
        const head = document.createElement('p');
        head.className = 'salesplan-report-head';
        head.textContent =
          `${report.source}: ${report.errors} error(s), ${report.warnings} warning(s) - ` +
          'not loadable; nothing was created. Fix the data or the mapping and try again.';
        box.appendChild(head);
        const ul = document.createElement('ul');
        for (const p of report.problems) {
          const li = document.createElement('li');
          li.className = `salesplan-problem salesplan-problem-${p.severity}`;
          li.textContent = problemText(p);
          ul.appendChild(li);
        }
        box.appendChild(ul);
      }
      n.appendChild(box);
    }
  }

  /** The form's current values (Dialog calls this on a button press). */
  getValue(): INewPlanForm {
    const f = this.node as HTMLFormElement;
    const v = (name: string) => (f.elements.namedItem(name) as HTMLInputElement | null)?.value ?? '';
    const kind = (f.querySelector('input[name=kind]:checked') as HTMLInputElement | null)?.value;
    return {
      folder: v('folder'),
      type: v('type'),
      period: v('period'),
      scope: v('scope'),
      kind: kind === 'source' ? 'source' : 'sample',
      sampleSize: v('sampleSize') === 'small' ? 'small' : 'full',
      source: v('source'),
      mapping: v('mapping')
    };
  }
}

function input(name: string, value: string, placeholder: string): HTMLInputElement {
  const i = document.createElement('input');
  i.name = name;
  i.value = value;
  i.placeholder = placeholder;
  i.className = 'jp-mod-styled';
  return i;
}

function row(label: string, control: HTMLElement): HTMLElement {
  const l = document.createElement('label');
  l.className = 'salesplan-row';
  const s = document.createElement('span');
  s.textContent = label;
  l.append(s, control);
  return l;
}

/** Show the dialog; the form values, or null when cancelled. */
export async function askNewPlan(
  form: INewPlanForm,
  presets: string[],
  report: IReport | null,
  errors: string[]
): Promise<INewPlanForm | null> {
  const result = await showDialog({
    title: 'New sales plan',
    body: new NewPlanBody(form, presets, report, errors),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Create plan' })],
    focusNodeSelector: 'input[name=folder]'
  });
  return result.button.accept ? (result.value as INewPlanForm) : null;
}
