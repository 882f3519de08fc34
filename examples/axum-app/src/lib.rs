//! An axum application instrumented with Logbook: every request becomes a REQUEST event,
//! and the login route records its outcome with seed 000's helpers.

use axum::{
    Extension, Json, Router,
    extract::Path,
    http::StatusCode,
    response::IntoResponse,
    routing::{get, post},
};
use logbook_client::{
    Client,
    layer::{LogbookLayer, RequestEvent, RequestUser},
};
use serde_json::{Value, json};

pub fn app(client: Client) -> Router {
    Router::new()
        .route("/items/{id}", get(item))
        .route("/login", post(login))
        .layer(Extension(client.clone()))
        .layer(
            LogbookLayer::new(client)
                .service("example-axum")
                .body_summary(16 * 1024),
        )
}

async fn item(Path(id): Path<u64>) -> impl IntoResponse {
    // The handler knows the user; the layer puts it on the request's event.
    let mut response = Json(json!({"id": id})).into_response();
    response.extensions_mut().insert(RequestUser {
        user_id: Some(format!("user-{}", id % 10)),
        session_id: None,
    });
    response
}

async fn login(
    Extension(client): Extension<Client>,
    Extension(context): Extension<RequestEvent>,
    Json(body): Json<Value>,
) -> StatusCode {
    if body["password"] == "correct horse" {
        client.record_auth_success(&context.0, "password");
        StatusCode::OK
    } else {
        client.record_auth_failure(
            &context.0,
            "password",
            Some("AUTH_BAD_PASSWORD"),
            Some("wrong password"),
        );
        StatusCode::UNAUTHORIZED
    }
}
