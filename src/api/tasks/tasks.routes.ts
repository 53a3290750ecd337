import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Deps } from '../../context';
import { notFound } from '../http/errors';
import { IdParams } from '../http/schemas';
import { Task, TaskListQuery, TaskPage, TaskPatch } from './tasks.schemas';
import { listTasks, updateTask } from './tasks.service';

const tags = ['tasks'];

/** The tasks `task` steps write: listed, and completed, rescheduled or assigned by a person. */
export const tasksRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/tasks',
      {
        schema: {
          tags,
          summary: 'Tasks, newest first; filter by assignee, lead, done and due date',
          querystring: TaskListQuery,
          response: { 200: TaskPage },
        },
      },
      async (request) => listTasks(deps.db, request.workspaceId, request.query),
    );

    app.patch(
      '/tasks/:id',
      {
        schema: {
          tags,
          summary: 'Mark a task done or open, set its due date or assignee',
          params: IdParams,
          body: TaskPatch,
          response: { 200: Task },
        },
      },
      async (request) => {
        const task = await updateTask(deps.db, request.workspaceId, request.params.id, request.body);
        if (!task) throw notFound('task');
        return task;
      },
    );
  };
