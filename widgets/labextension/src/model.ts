/**
 * Pure logic of the salesplan-nb JupyterLab extension (no JupyterLab imports, unit-tested
 * with jest): the request body of a new plan, labels of step statuses, render progress text.
 */

export type DataKind = 'sample' | 'source';

export interface INewPlanForm {
  folder: string;
  type: string;
  period: string;
  scope: string;
  kind: DataKind;
  sampleSize: 'full' | 'small';
  source: string;
  mapping: string;
}

export interface INewPlanRequest {
  folder: string;
  type: string;
  period: string | null;
  scope: string;
  data: { kind: DataKind; size?: 'full' | 'small'; source?: string; mapping?: string | null };
}

export interface IProblem {
  severity: string;
  file: string;
  row: number | null;
  column: string | null;
  value: string | null;
  reason: string;
  fix: string;
  line: string;
}

export interface IReport {
  source: string;
  ok: boolean;
  errors: number;
  warnings: number;
  problems: IProblem[];
}

export interface IStep {
  key: string;
  number: number | null;
  title: string;
  notebook: string;
  path: string | null;
  status: 'decided' | 'not yet' | 'outdated';
  by: string | null;
  at: string | null;
  because: string | null;
  reads?: string[];
}

/** The biggest gap of the plan model (GET /salesplan/figures): target minus ``figure``. */
export interface IGap {
  figure: string;
  amount: number;
  amount_text: string;
  reason: string;
  closes_it: string;
  step: string | null;
  title: string | null;
  path: string | null;
}

/** GET /salesplan/figures: the plan model's headline figures and its biggest gap. */
export interface IPlanFigures {
  plan: string;
  scope: string;
  period: string;
  target_source: string;
  rows: { key: string; label: string; value: string }[];
  gap: IGap | null;
  notes: string[];
  error: string | null;
}

/** What the panel shows of the plan figures: table rows, the gap line and its link. */
export interface IFiguresView {
  rows: [string, string][];
  gap: { text: string; link: { label: string; path: string } | null } | null;
  notes: string[];
}

export interface IRenderState {
  id: string;
  status: 'running' | 'done' | 'failed';
  by: string;
  total: number;
  done: number;
  ok: number;
  failed: number;
  failures: { unit: string; error: string }[];
  reports: string[];
  index: string | null;
  message: string;
  seconds: number;
}

export const PLAN_TYPES = ['annual', 'long-term', 'territory', 'account'];
export const LEVELS = ['company', 'region', 'territory', 'account', 'rep'];

const PERIOD = /^(FY)?\d{4}(-(Q[1-4]|H[12]|\d{2}))?$/;
const SCOPE = /^(company|(region|territory|account|rep):.+)$/;

/** Problems with a new-plan form, each naming the field and the fix (empty: fine). */
export function formProblems(form: INewPlanForm): string[] {
  const out: string[] = [];
  const folder = form.folder.trim();
  if (!folder) {
    out.push('Folder: give a new folder for the plan, e.g. plans/2027');
  } else if (folder.startsWith('/') || folder.split('/').includes('..')) {
    out.push('Folder: give a path inside the Jupyter root (no leading / and no ..)');
  }
  if (!PLAN_TYPES.includes(form.type)) {
    out.push(`Plan type: use one of ${PLAN_TYPES.join(', ')}`);
  }
  const period = form.period.trim();
  if (period && !period.split('..').every(p => PERIOD.test(p.trim()))) {
    out.push('Period: use 2027, 2027-Q1, 2027-H1, 2027-07 or 2027..2029 (blank: the next year)');
  }
  const scope = form.scope.trim();
  if (scope && !SCOPE.test(scope)) {
    out.push('Scope: use company, or level:id such as region:East or territory:T01');
  }
  if (form.kind === 'source' && !form.source.trim()) {
    out.push('Data: give a folder, a workbook or an SQL URL (or choose the sample company)');
  }
  return out;
}

/** The POST /salesplan/plans body of a form. */
export function planRequest(form: INewPlanForm): INewPlanRequest {
  const data: INewPlanRequest['data'] =
    form.kind === 'sample'
      ? { kind: 'sample', size: form.sampleSize }
      : {
          kind: 'source',
          source: form.source.trim(),
          mapping: form.mapping.trim() || null
        };
  return {
    folder: form.folder.trim(),
    type: form.type,
    period: form.period.trim() || null,
    scope: form.scope.trim() || 'company',
    data
  };
}

/** "decided by ana, 2026-12-01 22:10" / "not yet" / "outdated: capacity changed 2026-12-02 10:14". */
export function statusText(step: IStep): string {
  const when = step.at ? step.at.replace('T', ' ').replace(/:\d\dZ$/, '') : '';
  if (step.status === 'decided') {
    return `decided by ${step.by ?? 'someone'}${when ? ', ' + when : ''}`;
  }
  if (step.status === 'outdated') {
    return `outdated: ${step.because ?? 'an earlier decision changed'}`;
  }
  return 'not yet';
}

/** The step's number shown in the list ("1".."15"; "·" for a step that serves them all). */
export function stepLabel(step: IStep): string {
  return step.number === null || step.number === undefined ? '·' : String(step.number);
}

/** "3 of 12 plans (1 failed)" and the percentage done (0-100). */
export function progress(state: IRenderState): { text: string; percent: number } {
  const total = Math.max(state.total, 0);
  const done = Math.min(state.done, total || state.done);
  const percent = total ? Math.round((100 * done) / total) : state.status === 'running' ? 0 : 100;
  const failed = state.failed ? ` (${state.failed} failed)` : '';
  const verb = state.status === 'running' ? 'rendering' : state.status === 'done' ? 'done' : 'finished with failures';
  return { text: `${verb}: ${done} of ${total} ${state.by} plans${failed}`, percent };
}

/** One line of a problem: "accounts.csv, row 5, column region: reason; fix: ...". */
export function problemText(p: IProblem): string {
  const where = [p.file];
  if (p.row !== null && p.row !== undefined) {
    where.push(`row ${p.row}`);
  }
  if (p.column) {
    where.push(`column ${p.column}`);
  }
  if (p.value !== null && p.value !== undefined) {
    where.push(`value '${p.value}'`);
  }
  return `${p.severity}: ${where.join(', ')}: ${p.reason}${p.fix ? '; fix: ' + p.fix : ''}`;
}

/** URL that serves a file of the Jupyter root as is (a report opens in a browser tab). */
export function filesUrl(baseUrl: string, path: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
  return base + 'files/' + path.split('/').map(encodeURIComponent).join('/');
}

/** The plan folder holding ``path`` among ``plans`` (the deepest match), or null. */
export function planOf(path: string, plans: string[]): string | null {
  let best: string | null = null;
  for (const plan of plans) {
    const prefix = plan === '.' ? '' : plan + '/';
    if ((prefix === '' || path.startsWith(prefix)) && (best === null || plan.length > best.length)) {
      best = plan;
    }
  }
  return best;
}

/** "Biggest gap: target vs sum of quotas, -$2.32M: reason; closed by decision." (the plan
 * document's executive summary says the same words). */
export function gapText(gap: IGap): string {
  return `Biggest gap: target vs ${gap.figure}, ${gap.amount_text}: ${gap.reason}; closed by ${gap.closes_it}.`;
}

/** The panel's view of the plan figures: rows, the gap line with a link that opens the step
 * notebook whose decision closes it (none when no decision is needed or the notebook is not in
 * the plan folder), and notes (an error is the only note then). */
export function figuresView(f: IPlanFigures): IFiguresView {
  if (f.error) {
    return { rows: [], gap: null, notes: [`The plan figures are not available: ${f.error}`] };
  }
  const gap = f.gap
    ? {
        text: gapText(f.gap),
        link: f.gap.path ? { label: `Open ${f.gap.title ?? f.gap.step ?? 'the step'}`, path: f.gap.path } : null
      }
    : null;
  const notes = [...f.notes];
  if (f.target_source) {
    notes.unshift(`target: ${f.target_source}; ${f.scope}, ${f.period}`);
  }
  return { rows: f.rows.map(r => [r.label, r.value] as [string, string]), gap, notes };
}
