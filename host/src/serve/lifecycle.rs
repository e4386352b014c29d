//! The service's start and stop: [`serve`] loads the plugins directory,
//! starts the watcher, the scheduler, the admin API and the sink, waits for
//! the shutdown future, then stops them and lets runs in flight finish.

use std::sync::Arc;

use tokio::task::JoinSet;

use super::swap::watch_dir;
use super::{ServeError, Service, admin};
use crate::registry;

/// Run the service until `shutdown` resolves: load plugins, watch the
/// directory, fire schedules, serve the admin API on `admin` (when given),
/// then stop gracefully.
pub async fn serve(
    service: Arc<Service>,
    admin: Option<tokio::net::TcpListener>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ServeError> {
    let dir = service.host.settings.plugins_dir.clone();
    std::fs::create_dir_all(&dir).map_err(|e| ServeError::Watch {
        path: dir.clone(),
        message: e.to_string(),
    })?;
    // Watch before the initial scan so no change slips between the two.
    let (_watcher, events) = watch_dir(&dir)?;
    for path in registry::wasm_files(&dir)? {
        service.apply_file(&path).await;
    }
    let mut tasks = JoinSet::new();
    tasks.spawn(service.clone().scheduler());
    tasks.spawn(service.clone().watcher(events));
    if let Some(listener) = admin {
        let router =
            admin::router(service.clone(), &service.host.settings).map_err(ServeError::Admin)?;
        let mut stop = service.stop.subscribe();
        tasks.spawn(async move {
            let result = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "Admin API stopped.");
            }
        });
    }
    if let Some(sink_config) = &service.host.settings.sink {
        let sink_settings = sink_config
            .validate(&service.host.settings.data_dir)
            .map_err(|e| ServeError::Sink(e.to_string()))?;
        let mut sink = crate::sink::Sink::new(
            sink_settings,
            service.host.bus.clone(),
            Arc::new(crate::sink::SystemClock),
        )
        .await
        .map_err(|e| ServeError::Sink(crate::error_text::chain(&e)))?;
        let handle = Arc::new(super::SinkHandle {
            group: sink.settings().group.clone(),
            topics: sink.settings().topics.clone(),
            store: sink.store().describe().to_string(),
            status: sink.status(),
            error: Default::default(),
        });
        let _ = service.sink.set(handle.clone());
        let mut stop = service.stop.subscribe();
        tasks.spawn(async move {
            let result = sink
                .run(crate::sink::RunMode::Forever, async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            match result {
                Ok(report) => tracing::info!(
                    records = report.records_written,
                    objects = report.objects_written,
                    "Sink stopped."
                ),
                Err(e) => {
                    let why = crate::error_text::chain(&e);
                    tracing::error!(error = %why, "Sink failed.");
                    handle.failed(why);
                }
            }
        });
    }
    tracing::info!(plugins = service.plugins().len(), "Serving.");
    shutdown.await;
    tracing::info!("Shutdown requested: finishing tasks in flight.");
    service.shutdown();
    for slot in service.table().slots.values_mut() {
        if let Some(t) = slot.triggers.take() {
            t.abort();
        }
    }
    let mut runs = std::mem::take(&mut *service.runs.lock().await);
    while runs.join_next().await.is_some() {}
    while tasks.join_next().await.is_some() {}
    tracing::info!("Stopped.");
    Ok(())
}
