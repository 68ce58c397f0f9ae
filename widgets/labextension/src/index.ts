import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { ILauncher } from '@jupyterlab/launcher';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon } from '@jupyterlab/ui-components';

import { APIError, post, requestAPI } from './api';
import { askNewPlan } from './dialog';
import { formProblems, INewPlanForm, IReport, planOf, planRequest } from './model';
import { SalesPlanPanel } from './panel';

const PLUGIN_ID = 'salesplan-nb:plugin';

const ICON = new LabIcon({
  name: 'salesplan-nb:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<path d="M3 20h18v2H3z"/><path d="M5 11h3v8H5zM10.5 7h3v12h-3zM16 3h3v16h-3z"/></g></svg>'
});

namespace CommandIDs {
  export const newPlan = 'salesplan:new-plan';
  export const openPanel = 'salesplan:open-panel';
  export const validate = 'salesplan:validate-data';
  export const render = 'salesplan:render-plans';
  export const refresh = 'salesplan:refresh';
}

interface IOptions {
  presets: string[];
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Start, navigate and render a sales plan from JupyterLab',
  autoStart: true,
  requires: [ILabShell],
  optional: [ICommandPalette, ILauncher, IMainMenu, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    mainMenu: IMainMenu | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    const settings = { folder: 'plans/', type: 'annual', refreshSeconds: 5, renderTop: 0 };
    const open = (path: string) =>
      void app.commands.execute('docmanager:open', { path, factory: 'Notebook' });
    const panel = new SalesPlanPanel(open, PageConfig.getBaseUrl());
    panel.title.icon = ICON;
    shell.add(panel, 'left', { rank: 850 });

    let timer = 0;
    const schedule = () => {
      window.clearInterval(timer);
      timer = window.setInterval(() => {
        if (panel.isVisible && panel.plan) {
          void panel.refresh().catch(() => undefined);
        }
      }, Math.max(1, settings.refreshSeconds) * 1000);
    };
    schedule();

    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(s => {
        const apply = () => {
          settings.folder = (s.get('defaultFolder').composite as string) || settings.folder;
          settings.type = (s.get('defaultPlanType').composite as string) || settings.type;
          settings.refreshSeconds = (s.get('refreshSeconds').composite as number) || 5;
          settings.renderTop = (s.get('renderTop').composite as number) || 0;
          panel.renderTop = settings.renderTop;
          schedule();
        };
        apply();
        s.changed.connect(apply);
      }).catch(reason => console.warn('salesplan-nb: settings not loaded', reason));
    }

    // the plan of the document in focus becomes the panel's plan
    let known: string[] = [];
    shell.currentChanged.connect(async () => {
      const ctxPath = (shell.currentWidget as any)?.context?.path as string | undefined;
      if (!ctxPath) {
        return;
      }
      try {
        known = (await requestAPI<{ plans: { path: string }[] }>('plans')).plans.map(p => p.path);
      } catch {
        return;
      }
      const plan = planOf(ctxPath, known);
      if (plan && plan !== panel.plan) {
        panel.setPlan(plan);
      }
    });

    app.commands.addCommand(CommandIDs.newPlan, {
      label: args => (args.isLauncher ? 'Sales plan' : 'New Sales Plan…'),
      caption: 'Create a sales plan workspace from the sample company or your data',
      icon: ICON,
      execute: async () => {
        let options: IOptions = { presets: [] };
        try {
          options = await requestAPI<IOptions>('options');
        } catch (e) {
          Notification.error(`salesplan-nb server extension: ${e}`);
          return;
        }
        let form: INewPlanForm = {
          folder: settings.folder.endsWith('/') ? settings.folder + 'my-plan' : settings.folder,
          type: settings.type,
          period: '',
          scope: 'company',
          kind: 'sample',
          sampleSize: 'full',
          source: '',
          mapping: ''
        };
        let report: IReport | null = null;
        let errors: string[] = [];
        for (;;) {
          const answer = await askNewPlan(form, options.presets, report, errors);
          if (!answer) {
            return;
          }
          form = answer;
          report = null;
          errors = formProblems(form);
          if (errors.length) {
            continue;
          }
          const id = Notification.emit('Validating the data and creating the plan…', 'in-progress', {
            autoClose: false
          });
          try {
            const made = await post<{ plan: string; first: string | null }>('plans', planRequest(form));
            Notification.update({ id, message: `Created ${made.plan}`, type: 'success', autoClose: 3000 });
            panel.setPlan(made.plan);
            shell.activateById(panel.id);
            if (made.first) {
              open(made.first);
            }
            return;
          } catch (e) {
            Notification.dismiss(id);
            if (e instanceof APIError && e.report) {
              report = e.report;
            } else {
              errors = [e instanceof Error ? e.message : String(e)];
            }
          }
        }
      }
    });
    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Sales plan: Show the Steps Panel',
      execute: () => shell.activateById(panel.id)
    });
    app.commands.addCommand(CommandIDs.validate, {
      label: 'Sales plan: Validate the Plan Data',
      execute: async () => {
        shell.activateById(panel.id);
        await panel.validate();
      }
    });
    app.commands.addCommand(CommandIDs.render, {
      label: 'Sales plan: Render Plans',
      execute: async () => {
        shell.activateById(panel.id);
        await panel.render();
      }
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Sales plan: Refresh the Steps Panel',
      execute: () => panel.refresh(true)
    });

    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: 'salesplan' });
      }
    }
    if (launcher) {
      launcher.add({ command: CommandIDs.newPlan, category: 'Sales plan', rank: 0 });
    }
    if (mainMenu) {
      mainMenu.fileMenu.newMenu.addGroup([{ command: CommandIDs.newPlan }], 30);
    }
  }
};

export default plugin;
