//! An actix-web application instrumented with Logbook: every request becomes a REQUEST
//! event, and the handler names the user it served.

use std::net::TcpListener;

use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, dev::Server, web};
use logbook_client::{Client, RequestUser, actix::LogbookMiddleware};
use serde_json::json;

/// The example served on `listener` with two workers, its requests logged by `client`.
pub fn server(listener: TcpListener, client: Client) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .wrap(LogbookMiddleware::new(client.clone()).service("example-actix"))
            .route("/items/{id}", web::get().to(item))
    })
    .workers(2)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}

async fn item(request: HttpRequest, id: web::Path<u64>) -> HttpResponse {
    // The handler knows the user; the middleware puts it on the request's event.
    request.extensions_mut().insert(RequestUser {
        user_id: Some(format!("user-{}", *id % 10)),
        session_id: None,
    });
    HttpResponse::Ok().json(json!({"id": *id}))
}
