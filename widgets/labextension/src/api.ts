import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IReport } from './model';

/** An error answer of the server extension (``report``: the validation report, on 422). */
export class APIError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly report: IReport | null = null
  ) {
    super(message);
  }
}

/** Call ``/salesplan/<endpoint>``; JSON in and out. */
export async function requestAPI<T>(endpoint: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'salesplan', endpoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new APIError(`the Jupyter server did not answer: ${error}`, 0);
  }
  const text = await response.text();
  let data: any = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { error: text };
  }
  if (!response.ok) {
    throw new APIError(
      data.error ?? `${response.status} ${response.statusText}`,
      response.status,
      data.report ?? null
    );
  }
  return data as T;
}

export function post<T>(endpoint: string, body: unknown): Promise<T> {
  return requestAPI<T>(endpoint, { method: 'POST', body: JSON.stringify(body) });
}
