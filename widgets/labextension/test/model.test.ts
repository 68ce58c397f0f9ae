import {
  figuresView,
  filesUrl,
  formProblems,
  gapText,
  IPlanFigures,
  INewPlanForm,
  IRenderState,
  IStep,
  planOf,
  planRequest,
  problemText,
  progress,
  statusText,
  stepLabel
} from '../src/model';

const form = (over: Partial<INewPlanForm> = {}): INewPlanForm => ({
  folder: 'plans/2027',
  type: 'annual',
  period: '',
  scope: 'company',
  kind: 'sample',
  sampleSize: 'full',
  source: '',
  mapping: '',
  ...over
});

const step = (over: Partial<IStep> = {}): IStep => ({
  key: 'goals',
  number: 2,
  title: 'SMART goals',
  notebook: '02_goals.ipynb',
  path: 'plans/x/02_goals.ipynb',
  status: 'not yet',
  by: null,
  at: null,
  because: null,
  ...over
});

describe('formProblems', () => {
  it('accepts a sample plan', () => {
    expect(formProblems(form())).toEqual([]);
    expect(formProblems(form({ period: '2027..2029', scope: 'region:East' }))).toEqual([]);
  });
  it('names each bad field', () => {
    const p = formProblems(form({ folder: '../x', period: '27', scope: 'East', kind: 'source' }));
    expect(p.map(x => x.split(':')[0])).toEqual(['Folder', 'Period', 'Scope', 'Data']);
    expect(formProblems(form({ folder: ' ' }))[0]).toMatch(/^Folder: give a new folder/);
    expect(formProblems(form({ type: 'weekly' }))[0]).toMatch(/^Plan type/);
  });
});

describe('planRequest', () => {
  it('sends the sample without a source', () => {
    expect(planRequest(form({ source: 'ignored' }))).toEqual({
      folder: 'plans/2027',
      type: 'annual',
      period: null,
      scope: 'company',
      data: { kind: 'sample', size: 'full' }
    });
  });
  it('sends a source with its mapping, trimmed', () => {
    const r = planRequest(form({ kind: 'source', source: ' data/crm ', mapping: 'maven-crm', period: '2027' }));
    expect(r.data).toEqual({ kind: 'source', source: 'data/crm', mapping: 'maven-crm' });
    expect(r.period).toBe('2027');
    expect(planRequest(form({ kind: 'source', source: 'x' })).data.mapping).toBeNull();
  });
});

describe('statusText', () => {
  it('shows who and when', () => {
    expect(statusText(step({ status: 'decided', by: 'ana', at: '2026-12-01T22:10:05Z' }))).toBe(
      'decided by ana, 2026-12-01 22:10'
    );
    expect(statusText(step())).toBe('not yet');
    expect(
      statusText(step({ status: 'outdated', by: 'bo', at: '2026-12-01T09:00:00Z', because: 'capacity changed 2026-12-02 10:14' }))
    ).toBe('outdated: capacity changed 2026-12-02 10:14');
  });
  it('labels steps outside the method', () => {
    expect(stepLabel(step())).toBe('2');
    expect(stepLabel(step({ number: null }))).toBe('·');
  });
});

describe('progress', () => {
  const state = (over: Partial<IRenderState>): IRenderState => ({
    id: 'a',
    status: 'running',
    by: 'territory',
    total: 12,
    done: 3,
    ok: 2,
    failed: 1,
    failures: [],
    reports: [],
    index: null,
    message: '',
    seconds: 1,
    ...over
  });
  it('counts done of total with failures', () => {
    expect(progress(state({}))).toEqual({ text: 'rendering: 3 of 12 territory plans (1 failed)', percent: 25 });
    expect(progress(state({ status: 'done', done: 12, failed: 0 })).percent).toBe(100);
    expect(progress(state({ total: 0, done: 0, failed: 0 })).percent).toBe(0);
  });
});

describe('problemText and urls', () => {
  it('names file, row, column and value', () => {
    expect(
      problemText({
        severity: 'error',
        file: 'accounts.csv',
        row: 5,
        column: 'region',
        value: '',
        reason: 'missing',
        fix: 'fill it in',
        line: ''
      })
    ).toBe("error: accounts.csv, row 5, column region, value '': missing; fix: fill it in");
  });
  it('escapes file URLs', () => {
    expect(filesUrl('/lab/', 'plans/a b/index.html')).toBe('/lab/files/plans/a%20b/index.html');
    expect(filesUrl('/', 'x.html')).toBe('/files/x.html');
  });
  it('finds the deepest plan of a path', () => {
    expect(planOf('plans/a/01.ipynb', ['plans/a', 'plans/ab', '.'])).toBe('plans/a');
    expect(planOf('other/x.ipynb', ['plans/a'])).toBeNull();
  });
});

describe('figuresView', () => {
  const figures = (over: Partial<IPlanFigures> = {}): IPlanFigures => ({
    plan: 'plans/x',
    scope: 'company',
    period: '2027',
    target_source: 'quota plan',
    rows: [
      { key: 'target', label: 'Target (USD)', value: '15,486,376' },
      { key: 'quota_total', label: 'Sum of quotas (USD)', value: '17,809,332' }
    ],
    gap: {
      figure: 'sum of quotas',
      amount: -2322956.37,
      amount_text: '-$2.32M',
      reason: 'quotas carry over-assignment above the target',
      closes_it: 'the over-assignment and ramp decisions (quotas step)',
      step: 'quotas',
      title: 'Quotas',
      path: 'plans/x/09_quotas.ipynb'
    },
    notes: [],
    error: null,
    ...over
  });
  it('shows the rows and the gap line with the step notebook to open', () => {
    const v = figuresView(figures());
    expect(v.rows).toEqual([
      ['Target (USD)', '15,486,376'],
      ['Sum of quotas (USD)', '17,809,332']
    ]);
    expect(v.gap?.text).toBe(
      'Biggest gap: target vs sum of quotas, -$2.32M: quotas carry over-assignment above the ' +
        'target; closed by the over-assignment and ramp decisions (quotas step).'
    );
    expect(v.gap?.link).toEqual({ label: 'Open Quotas', path: 'plans/x/09_quotas.ipynb' });
    expect(v.notes).toEqual(['target: quota plan; company, 2027']);
  });
  it('has no link when no decision is needed, no gap without a target, the error alone', () => {
    const f = figures();
    const none = figuresView(figures({ gap: { ...f.gap!, closes_it: 'none needed', step: null, title: null, path: null } }));
    expect(none.gap?.text).toMatch(/closed by none needed\.$/);
    expect(none.gap?.link).toBeNull();
    expect(figuresView(figures({ gap: null, target_source: '', notes: ['no target'] }))).toEqual({
      rows: f.rows.map(r => [r.label, r.value]),
      gap: null,
      notes: ['no target']
    });
    const err = figuresView(figures({ error: 'the quota split fails' }));
    expect(err).toEqual({ rows: [], gap: null, notes: ['The plan figures are not available: the quota split fails'] });
    expect(gapText(f.gap!)).toContain('target vs sum of quotas, -$2.32M');
  });
});
